"""The project's own pure-Python package that the door app and the sync server both import.

Nothing here imports Qt, Flask or SQLAlchemy: it holds the ticket-token format
(:mod:`shared.ticket_token`), its keys (:mod:`shared.keys`), QR rendering (:mod:`shared.qr`),
and the wire: the words both sides speak (:mod:`shared.vocabulary`: error and verdict codes,
token prefixes, the time format) and the sync protocol's shapes (:mod:`shared.protocol`, typed
with :mod:`shared.wire_fields`).
"""
