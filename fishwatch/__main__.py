"""``python -m fishwatch`` runs the command line."""

from fishwatch.cli import app

app()
