"""The waiting list (model; the queue engine comes later)."""
