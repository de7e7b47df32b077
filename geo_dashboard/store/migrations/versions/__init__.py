"""Alembic revision scripts of the dashboard store, oldest first."""
