"""Start a worker QObject on its own QThread, and stop it cleanly."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QThread

logger = logging.getLogger(__name__)


def start_in_thread(worker: QObject, name: str) -> QThread:
    """Move ``worker`` to a new running thread; the worker must have no parent."""
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.start()
    return thread


def stop_thread(thread: QThread, timeout_ms: int = 3000) -> None:
    thread.quit()
    if not thread.wait(timeout_ms):
        logger.error("thread %s did not stop within %d ms", thread.objectName(), timeout_ms)
