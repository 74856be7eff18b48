"""Alembic environment for nursecase.

Migrations are always run through ``nursecase.db.schema`` (``apply_migrations``,
called by ``nursecase.db.maintenance.migrate`` after its backup), which hands us
an open connection in ``config.attributes["connection"]`` (foreign keys already
off on SQLite). ``render_as_batch`` lets ALTERs work on SQLite by rebuilding
tables.
"""

from alembic import context

from nursecase.db.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable by running alembic by hand
    raise RuntimeError("run migrations with `nursecase db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
