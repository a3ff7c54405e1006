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


# Threads (and their workers) that did not stop in time: a QThread destroyed while it runs
# aborts the whole process, so they are kept here until they finish.
_lingering: list[tuple[QThread, QObject | None]] = []


def stop_thread(thread: QThread, worker: QObject | None = None, timeout_ms: int = 3000) -> None:
    """Stop ``thread``; ``worker`` (its QObject) is kept alive until the thread has finished.

    Drop the last reference to a worker only after this returns: a QObject deleted from the GUI
    thread while its own thread is still running one of its slots crashes the process.
    """
    thread.quit()
    if thread.wait(timeout_ms):
        return
    logger.error("thread %s did not stop within %d ms", thread.objectName(), timeout_ms)
    keep_until_finished(thread, worker)


def keep_until_finished(thread: QThread, worker: QObject | None = None) -> None:
    """Hold a still-running thread (and its worker) until it has finished (GUI thread only)."""
    _lingering[:] = [entry for entry in _lingering if not entry[0].isFinished()]
    _lingering.append((thread, worker))
