"""The wait indicator: between the question and the first word of the answer a terminal shows
how long it has waited (``waiting 3s``), ``thinking`` once the model's reasoning arrives.
Transient: it is erased without a trace when the answer starts, and never written to a pipe.

Stdlib only: the plain renderer uses it too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# Nothing is shown for a quick answer (the indicator would only flicker), then whole seconds.
FIRST_SHOWN = 1.0
REFRESH = 1.0


class WaitLabel:
    """What the indicator says and when it changes next."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._since: float | None = None
        self.thinking = False

    def begin(self) -> None:
        self._since, self.thinking = self._clock(), False

    def end(self) -> None:
        self._since = None

    @property
    def waiting(self) -> bool:
        return self._since is not None

    def text(self) -> str:
        """The label, or nothing before :data:`FIRST_SHOWN` and once the wait is over."""
        if self._since is None:
            return ""
        elapsed = self._clock() - self._since
        if elapsed < FIRST_SHOWN:
            return ""
        return f"{'thinking' if self.thinking else 'waiting'} {int(elapsed)}s"

    def next_change(self) -> float | None:
        """Seconds until the label changes (None once the wait is over)."""
        if self._since is None:
            return None
        elapsed = self._clock() - self._since
        if elapsed < FIRST_SHOWN:
            return FIRST_SHOWN - elapsed
        return REFRESH - (elapsed % REFRESH) or REFRESH
