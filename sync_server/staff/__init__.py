"""Event staff (door scanners, with access expiry) and authorized sellers."""
