"""Cameras and QR decoders behind the Protocols in ``scanner_app.core.ports``. No Qt here."""
