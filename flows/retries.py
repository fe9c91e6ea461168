"""When a Prefect task is worth retrying: only after a transient failure of an external
service (a lost connection, a timeout), never after a refused login or a bad setting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

RetryCondition = Callable[[Any, Any, Any], bool]


def transient_only(transient: type[Exception],
                   permanent: tuple[type[Exception], ...]) -> RetryCondition:
    """A `retry_condition_fn`: retry when the task failed with `transient` and not with one
    of `permanent` (checked first: an auth error is often a subclass of the service's error)."""

    def should_retry(_task: Any, _run: Any, state: Any) -> bool:
        try:
            state.result()
        except permanent:
            return False
        except transient:
            return True
        except Exception:
            return False
        return False

    return should_retry
