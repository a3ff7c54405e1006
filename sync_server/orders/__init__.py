"""Orders, holds, discount codes and the purchase engine."""


def connect_signals() -> None:
    """Cancel (and refund) every order of an event when the event is cancelled."""
    from sync_server.orders.cancellation import cancel_event_orders
    from sync_server.signals import event_cancelled

    event_cancelled.connect(cancel_event_orders)
