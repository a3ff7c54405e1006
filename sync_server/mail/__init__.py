"""Outgoing e-mail: an outbox written in the order's transaction, sent over SMTP after commit."""
