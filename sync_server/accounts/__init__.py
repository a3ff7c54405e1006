"""Accounts: users, their passwords and API tokens (the sign-in routes are ``signin``)."""
