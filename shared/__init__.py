"""The project's own pure-Python package that the door app and the sync server both import.

Nothing here imports Qt, Flask or SQLAlchemy: it holds the ticket-token format
(:mod:`shared.ticket_token`), its keys (:mod:`shared.keys`) and QR rendering (:mod:`shared.qr`).
"""
