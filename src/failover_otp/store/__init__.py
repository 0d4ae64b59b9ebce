"""Persistence on SQLite or PostgreSQL through SQLAlchemy Core (async)."""
