"""Alembic scripts of the door database; ``scanner_app.storage.database.upgrade`` applies them."""
