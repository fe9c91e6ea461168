"""A process-wide progress listener, so a CLI progress bar can follow a Prefect flow's
extraction step without passing a callable through Prefect's parameter validation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Listener(Protocol):
    def started(self, total: int) -> None: ...
    def advanced(self, item: str) -> None: ...


_listener: Listener | None = None


def started(total: int) -> None:
    if _listener is not None:
        _listener.started(total)


def advanced(item: str) -> None:
    if _listener is not None:
        _listener.advanced(item)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    global _listener  # noqa: PLW0603 - one listener per process by design
    previous, _listener = _listener, listener
    try:
        yield
    finally:
        _listener = previous
