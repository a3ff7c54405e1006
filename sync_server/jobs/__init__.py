"""`sync-server jobs`: one long-running process for the scheduled work (docs/queue.md)."""
