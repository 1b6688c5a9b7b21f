"""Composition root: settings and the command line."""
