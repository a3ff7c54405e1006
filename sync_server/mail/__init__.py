"""Outgoing e-mail: an outbox written in the order's transaction, sent over SMTP after commit."""


def connect_signals() -> None:
    """Queue the tickets e-mail when an order completes or a ticket is transferred."""
    from sync_server.mail import reactions  # the reactions need the models; the package not

    reactions.connect()
