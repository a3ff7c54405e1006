"""Database-backed fixed-window rate limits (shared by several app servers)."""
