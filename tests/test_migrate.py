from sqlalchemy import inspect

from geoapp.db import migrate

TABLES = {"divisions", "projects", "project_progress"}


def test_migrations_create_every_table_and_remove_them_again(scratch_engine):
    migrate.upgrade(scratch_engine)
    assert set(inspect(scratch_engine).get_table_names()) >= TABLES
    assert migrate.current(scratch_engine)

    migrate.downgrade(scratch_engine)
    assert not TABLES & set(inspect(scratch_engine).get_table_names())
    assert migrate.current(scratch_engine) == set()

    migrate.upgrade(scratch_engine)
    assert set(inspect(scratch_engine).get_table_names()) >= TABLES


def test_every_geometry_has_a_gist_index_and_every_filter_column_an_index(engine):
    insp = inspect(engine)
    indexed = {tuple(ix["column_names"]) for ix in insp.get_indexes("projects")}
    for column in ("geom", "sector", "tier", "status", "division_code", "total_investment", "start_year"):
        assert (column,) in indexed, column
    assert ("boundary",) in {tuple(ix["column_names"]) for ix in insp.get_indexes("divisions")}


def test_live_projects_are_counted_and_paged_through_a_partial_code_index(engine):
    live = {ix["name"]: ix for ix in inspect(engine).get_indexes("projects")}["ix_projects_live_code"]
    assert live["column_names"] == ["code"]
    assert "deleted_at IS NULL" in live["dialect_options"]["postgresql_where"]
