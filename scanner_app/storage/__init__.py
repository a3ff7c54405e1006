"""The door's local SQLite database, one per paired server: cache, keys, journal, outbound queue.

No Qt here. ``DoorStore`` (store.py) is the only way in; models.py holds the tables and
migrations/ the Alembic scripts applied on open.
"""
