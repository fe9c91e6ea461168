"""`arflow watch DIR`: take files as they arrive, by file-system events or by polling.

File-system events (watchdog: inotify on Linux) only wake the loop early; what is taken is
still decided by the stability tracker, so a missed or duplicated event changes nothing.
Network shares do not deliver events: `polling=True` rescans every `interval` seconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ingest.documents import IngestContext
from ingest.dropfolder import DropFolder, PassSummary, take_all
from ingest.stability import StabilityTracker

log = logging.getLogger(__name__)


class _Wake:
    """A watchdog handler that only sets an event (any change: look again)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def dispatch(self, _event: Any) -> None:
        self.event.set()


def _start_observer(folder: DropFolder, wake: threading.Event, polling: bool) -> Any:
    if polling:
        return None
    from watchdog.observers import Observer  # noqa: PLC0415 (optional at import time)

    observer = Observer()
    observer.schedule(_Wake(wake), str(folder.inbox), recursive=True)  # type: ignore[arg-type]
    observer.start()
    return observer


def watch(
    ctx: IngestContext, folder: DropFolder, *, interval: float = 5.0, polling: bool = False,
    stop: threading.Event | None = None, on_pass: Callable[[PassSummary], None] | None = None,
) -> None:
    """Run until `stop` is set: observe, take the stable files, sleep until an event or tick."""
    stop = stop or threading.Event()
    wake = threading.Event()
    observer = _start_observer(folder, wake, polling)
    tracker = StabilityTracker(delay=folder.stable_delay)
    told: set[str] = set()  # files that look unfinished, said once each
    try:
        while not stop.is_set():
            stable = tracker.observe(folder.candidates())
            if stable:
                summary = take_all(ctx, folder, stable, tracker)
                if summary.taken or summary.busy or summary.errors:
                    log.info("drop folder %s: %s", folder.inbox, summary)
                for line in set(summary.waiting) - told:
                    log.info("drop folder %s: left for a later pass: %s", folder.inbox, line)
                told = set(summary.waiting)
                for line in summary.not_writable:  # no traceback to tell of it: say it here
                    log.error("%s", line)
                if on_pass is not None:
                    on_pass(summary)
            timeout = min(interval, folder.stable_delay / 2) if tracker.waiting() else interval
            wake.wait(max(0.05, timeout))
            wake.clear()
    finally:
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)
