"""Reactions across domains: one named blinker signal per line (the sender is the domain object).

A domain sends; the domain that reacts connects a receiver in its ``connect_signals()``, which
``create_app`` calls, so the sender never imports the receiver. Receivers run in the sender's
transaction (keyword ``session``): what they write commits, or rolls back, with it.
"""

from __future__ import annotations

import blinker

signals = blinker.Namespace()

event_cancelled = signals.signal("event-cancelled")  # Event; session, by_user, reason
order_completed = signals.signal("order-completed")  # Order; session, tickets, now
ticket_transferred = signals.signal("ticket-transferred")  # new TicketInstance; session, to_email
