"""Alembic environment: runs the migrations on the connection it is given.

The store opens the connection and begins the transaction itself (see
``geo_dashboard.store.engine.upgrade_schema``), so there is no ``alembic.ini``
and no offline mode.
"""

from __future__ import annotations

from alembic import context

from geo_dashboard.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "the dashboard store migrations need a connection; run them through "
        "geo_dashboard.store.open_store or upgrade_schema, not the alembic command"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
