"""Thin QObject adapters that run core and hardware objects off the GUI thread.

Every cross-thread hop is a queued signal, named ``<noun>_<past verb>``.
"""
