"""Per-event signing key versions and revoked ticket tokens."""
