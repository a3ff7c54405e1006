"""Widgets only: no SQL, no HTTP, no rules. They show what the workers report and ask them."""
