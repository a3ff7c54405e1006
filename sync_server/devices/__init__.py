"""Devices: pairing codes, device tokens, the events a device serves, revoke and rename."""
