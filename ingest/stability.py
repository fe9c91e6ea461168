"""Knowing when a dropped file is complete: size and mtime unchanged for `delay` seconds.

Scanners and copy tools write files in place; a file is taken only once two observations at
least `delay` seconds apart saw the same (size, mtime) — of what a link leads to, or of the
link itself when it leads nowhere. Files that vanish are forgotten.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from arflow.intake import Signature, signature


@dataclass
class StabilityTracker:
    delay: float = 2.0
    clock: Callable[[], float] = time.monotonic
    _seen: dict[Path, tuple[Signature, float]] = field(default_factory=dict)
    _stable: set[Path] = field(default_factory=set)

    def observe(self, paths: Iterable[Path]) -> list[Path]:
        """Record the current state of `paths`; return those stable for `delay` seconds."""
        now = self.clock()
        current: dict[Path, tuple[Signature, float]] = {}
        stable: list[Path] = []
        for path in paths:
            sig = _signature(path)
            if sig is None:
                continue
            previous = self._seen.get(path)
            since = previous[1] if previous and previous[0] == sig else now
            current[path] = (sig, since)
            if previous and previous[0] == sig and now - since >= self.delay:
                stable.append(path)
        self._seen, self._stable = current, set(stable)
        return stable

    def forget(self, path: Path) -> None:
        self._seen.pop(path, None)
        self._stable.discard(path)

    def waiting(self) -> int:
        """How many files were seen at the last observation but not yet stable."""
        return len(self._seen.keys() - self._stable)


def _signature(path: Path) -> Signature | None:
    """The file's (size, mtime) (`arflow.intake.signature`); for a link that leads nowhere,
    the link's own, so that it becomes stable and is taken (quarantined) rather than waited
    for forever."""
    found = signature(path)
    if found is not None or not path.is_symlink():
        return found
    try:
        stat = path.lstat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def wait_for_stable(
    tracker: StabilityTracker, list_files: Callable[[], list[Path]], *,
    max_wait: float, sleep: Callable[[float], None] = time.sleep,
) -> list[Path]:
    """Observe until nothing is waiting any more or `max_wait` has passed (one poll pass)."""
    deadline = tracker.clock() + max_wait
    stable = tracker.observe(list_files())
    while tracker.waiting() and tracker.clock() < deadline:
        sleep(max(0.01, min(tracker.delay / 2, deadline - tracker.clock())))
        stable = tracker.observe(list_files())
    return sorted(stable)
