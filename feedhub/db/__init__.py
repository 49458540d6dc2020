"""The database: engine and sessions (`engine`), the ORM models (`models`), Alembic
migrations (`migrate`) and "already at head?" without Alembic (`schema_revision`), SQLite
backups (`backup`) and the copy between databases behind `feedhub migrate-db` (`copy`).
"""
