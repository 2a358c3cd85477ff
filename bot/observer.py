"""What the running bot reports about itself, for metrics, without knowing who listens.

The delivery engine, the command front ends and the schedule sources call an `Observer`;
the composition root hands them the web server's Prometheus metrics (web/metrics.py), and
everything else gets `NullObserver`. So the core and jobs/ never import a metrics library,
and a test can pass a recording observer.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from bot.errors import BotError

# How one outbox row's attempt ended (the label of the posts counter).
SENT, RETRY, FAILED, SKIPPED = "sent", "retry", "failed", "skipped"


class Observer(Protocol):
    def post_finished(self, platform: str, outcome: str, *, rate_limited: bool = False) -> None:
        """One attempt at one post ended: SENT, RETRY (rate_limited: the platform said 429
        and when to come back), FAILED (permanently) or SKIPPED (too late to send)."""
        ...

    def drop_delivered(self, latency_seconds: float) -> None:
        """A delivery pass got its first post accepted, this long after it fell due."""
        ...

    def fanout_finished(self, duration_seconds: float, posts: int) -> None:
        """A delivery pass that sent `posts` (> 0) posts took this long."""
        ...

    def command_finished(self, command: str, duration_seconds: float, outcome: str) -> None:
        """A chat or console command was answered (outcome: ok, refused or error)."""
        ...

    def source_sync_failed(self, source: str) -> None:
        """A schedule source (TVmaze, an iCalendar URL) could not be synchronised."""
        ...


class NullObserver:
    """Listens to nothing: the default wherever no metrics are wanted."""

    def post_finished(self, platform: str, outcome: str, *, rate_limited: bool = False) -> None:
        pass

    def drop_delivered(self, latency_seconds: float) -> None:
        pass

    def fanout_finished(self, duration_seconds: float, posts: int) -> None:
        pass

    def command_finished(self, command: str, duration_seconds: float, outcome: str) -> None:
        pass

    def source_sync_failed(self, source: str) -> None:
        pass


class ObservedCommands:
    """A `Commands` whose catalogue commands (bot/catalogue.py) report their latency to an
    observer.

    Wrapping in the composition root keeps timing out of each command; adapters use it as
    they would use `Commands`. Everything else (helpers such as `complete_show_titles`,
    plain attributes) is the core's own, read and written through: an attribute set on the
    wrapper (`sources`) lands on the core, where the commands look for it.
    """

    def __init__(
        self, commands: Any, observer: Observer, *, timer: Callable[[], float] = time.perf_counter
    ) -> None:
        # Imported here: the delivery engine imports this module and needs no catalogue.
        from bot.catalogue import CATALOGUE

        object.__setattr__(self, "_commands", commands)
        object.__setattr__(self, "_observer", observer)
        object.__setattr__(self, "_timer", timer)
        timed = frozenset(command.core.__name__ for command in CATALOGUE if command.core)
        object.__setattr__(self, "_timed", timed)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._commands, name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._commands, name)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._commands, name)
        if name not in self._timed or not callable(target):
            return target
        if inspect.iscoroutinefunction(target):  # timed until its answer, not its coroutine

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                with self._timing(name):
                    return await target(*args, **kwargs)

            return timed_async

        def timed(*args: Any, **kwargs: Any) -> Any:
            with self._timing(name):
                return target(*args, **kwargs)

        return timed

    @contextmanager
    def _timing(self, name: str) -> Iterator[None]:
        started = self._timer()
        outcome = "error"
        try:
            yield
            outcome = "ok"
        except BotError:
            outcome = "refused"
            raise
        finally:
            self._observer.command_finished(name, self._timer() - started, outcome)
