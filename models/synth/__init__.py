"""Procedural renderer of riverbank camera scenes with exact labels."""
