"""Alembic migrations, packaged with the server (script location resolved from the package)."""
