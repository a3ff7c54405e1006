"""Ticket instances: the tickets a door admits, each with its signed token."""
