"""Accounts: users, passwords, API tokens, sign-up / sign-in (API and HTML)."""
