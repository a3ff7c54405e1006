"""Door sync, server side: change numbers, door data (snapshot and deltas), scan upload.

The protocol is ``shared/protocol.py`` (prose: ``docs/sync-protocol.md``); how this server
keeps it is ``docs/door-sync-server.md``. Importing :mod:`sync_server.door.changes` (done by
``sync_server.models``) installs the session hooks that number every change a door must hear of.
"""
