"""Alembic environment: the caller (storage.db.migrate) hands us a live connection."""

from alembic import context

from storage.orm import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
