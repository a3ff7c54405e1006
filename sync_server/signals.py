"""Cross-domain signals (blinker), declared in one place.

A lower domain sends; a higher one reacts, connected by its registration function called from
``create_app``. Sender: the SQLAlchemy session of the request; details are keyword arguments.
"""

from __future__ import annotations

import blinker

signals = blinker.Namespace()

# kwargs: event. Sent by events.services.publish_event before a draft goes on sale; a receiver
# vetoes by raising ApiError (payments: paid ticket types need an account that takes charges).
event_publishing = signals.signal("event-publishing")
# kwargs: order. Sent by the order flow once a PENDING card order is committed; the receiver
# (payments) returns the URL of the hosted payment page the buyer is sent to.
card_order_placed = signals.signal("card-order-placed")
