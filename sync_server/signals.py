"""Reactions across domains: one named blinker signal per line (the sender is the domain object).

A domain sends; the domain that reacts connects a receiver in its ``connect_signals()``, which
``create_app`` calls, so the sender never imports the receiver. Receivers run in the sender's
transaction (keyword ``session``): what they write commits, or rolls back, with it.
"""

from __future__ import annotations

import blinker

signals = blinker.Namespace()

event_cancelled = signals.signal("event-cancelled")  # Event; session, by_user, reason
order_completed = signals.signal("order-completed")  # Order; session, tickets, now, placed
# (placed: the order was PENDING in the database before; False for one placed and completed
# in the same request, which nothing else can refer to yet)
ticket_transferred = signals.signal("ticket-transferred")  # new TicketInstance; session, to_email
# Sent by a writer that inserts tickets without the ORM unit of work (orders.free_sale); the
# door domain numbers them at commit, as it numbers what the unit of work writes.
tickets_inserted = signals.signal("tickets-inserted")  # Order; session, event_id, ticket_ids
# Sent by events.services.publish_event before a draft goes on sale; a receiver vetoes by raising
# ApiError (payments: paid ticket types need an organizer account that takes charges).
event_publishing = signals.signal("event-publishing")  # Event; session
# Sent by the order flow once a PENDING card order is committed; the receiver (payments)
# returns the URL of the hosted payment page the buyer is sent to.
card_order_placed = signals.signal("card-order-placed")  # Order; session
# A guest revoked their order's private link: the tickets e-mail goes again with the new one.
guest_link_replaced = signals.signal("guest-link-replaced")  # Order; session, now
# Sent by orders.cancellation.tidy_expired_orders (the jobs' housekeeping) before it marks
# lapsed orders FAILED: receivers release what lapsed on their side (box office: cash holds).
tidying_holds = signals.signal("tidying-holds")  # None; session, now
# Units of a ticket type went back on sale: a PENDING order's holds released (abandoned, cancelled,
# a lapsed waiting-list offer), a completed order cancelled or refunded, the organizer raised the
# quantity. The queue offers them to the people waiting, in the sender's transaction.
capacity_returned = signals.signal("capacity-returned")  # TicketType; session, now
# Sent by the queue when it reserves a ticket for the next person waiting; the mail domain queues
# the offer e-mail in the same transaction.
queue_offer_made = signals.signal("queue-offer-made")  # WaitingListEntry; session, order
