"""The door's rules, with no Qt: decode -> verify -> decide -> journal, lookup, and sync."""
