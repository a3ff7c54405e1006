"""Orders, order items and discount codes (models; the purchase engine comes later)."""
