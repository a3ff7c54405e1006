"""Reports: an event's sales and check-in figures (analytics page, its CSV and its JSON)."""
