"""The centre: FastAPI device ingest, JSON API and web pages."""
