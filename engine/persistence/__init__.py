"""SQLAlchemy 2 persistence: models, database engine factory, migrations."""
