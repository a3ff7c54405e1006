"""Signing up, in and out: the accounts API (bearer tokens) and the HTML pages (session cookie).

The users themselves (models, passwords, tokens) are ``accounts``, below ``auth``; these are
the routes on top of both.
"""
