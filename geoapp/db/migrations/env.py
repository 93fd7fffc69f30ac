"""Alembic environment: the URL and connection come from geoapp, never from alembic.ini."""

from alembic import context

from geoapp.db.models import Base

target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to):
    # PostGIS and pgRouting own tables of their own (spatial_ref_sys, topology …).
    return not (type_ == "table" and reflected and compare_to is None)


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through geoapp.db.migrate, which passes a connection")
context.configure(connection=connection, target_metadata=target_metadata, include_object=include_object)
with context.begin_transaction():
    context.run_migrations()
