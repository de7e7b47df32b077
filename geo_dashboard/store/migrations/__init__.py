"""Alembic migrations of the dashboard store."""
