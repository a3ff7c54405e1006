"""The scans log (model; door sync comes later)."""
