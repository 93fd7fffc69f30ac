"""Database: embedded cluster, engine, models and migrations."""
