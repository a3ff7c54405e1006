"""SteppersLife sync server (Flask + SQLAlchemy)."""
