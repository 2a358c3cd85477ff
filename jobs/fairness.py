"""Fair share of one platform's rate between drops: start-time fair queueing (SFQ).

Friday drops coincide. Sent in arrival order, a show followed by 5 channels waits behind one
followed by 100,000 (more than half an hour at Discord's 50 requests/s). The policy here:

* A *group* is what one plan pass makes of one season at one instant: a drop, a reminder
  wave, an announcement. Each planned row gets a tag (`queue_rank`, stored with the row):
  row k of a group is tagged `V + k / weight`, where V is the tag the platform's queue is
  serving when the group is planned (the lowest tag of its due rows). Rows go out in tag
  order. Two drops planned at one instant therefore alternate row by row, and the 5-channel
  drop is done after 10 posts, about its own N/R, not after the big one.
* A group planned later joins at the current V: it shares the rate from then on instead of
  queueing behind the backlog, and cannot jump ahead of it either.
* Weights: a release counts `RELEASE_WEIGHT` (4) shares, announcements/trailers/moves 2, a
  reminder 1. A reminder wave still running when a drop falls due leaves the drop 4/5 of the
  rate: reminders due before a drop do not delay it (and a reminder whose drop has happened
  is skipped at send time anyway).
* Starvation bound: a row tagged t waits only for rows tagged below t. Rows already queued
  are finite, and a group planned later adds at most `weight * (t - V) + 1` of them, so a row
  of a big drop is never postponed by more than its share.
* Per channel: one post in flight at a time, posts in the order they fell due (due time, then
  id) whatever their tags, and a minimum spacing between two posts (Slack: about one message
  per second per channel). A channel whose next post must wait does not hold up the others.

`RankAssigner` tags rows when they are planned; `FairQueue` is the engine's in-memory window
of claimed rows. Both are pure: time is an injected monotonic clock.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from bot.keys import NotificationKey

RELEASE_WEIGHT = 4.0
CHANGE_WEIGHT = 2.0  # a season announced, a trailer, a move
REMINDER_WEIGHT = 1.0

T = TypeVar("T")
# A row's place: its tag, or (priority, tag) when priorities are queues of their own (the
# outbox's direct messages go after channel posts).
Rank = float | tuple[int, float]


def weight_of(notification_key: NotificationKey) -> float:
    """How many shares of the platform's rate a row of this kind gets while others compete."""
    if notification_key.is_reminder:
        return REMINDER_WEIGHT
    if notification_key.is_release:
        return RELEASE_WEIGHT
    return CHANGE_WEIGHT


class RankAssigner:
    """Tags for the rows of one plan pass on one platform: group g's k-th row gets
    `start + k / weight(g)`, `start` being the tag the platform's queue is serving."""

    def __init__(self, start: float) -> None:
        self.start = start
        self._next: dict[Hashable, float] = {}

    def rank(self, group: Hashable, weight: float, count: int = 1) -> float:
        """The tag of the group's next row; `count` rows are handed out (tagged one
        `1 / weight` apart from this one)."""
        tag = self._next.get(group, self.start)
        self._next[group] = tag + count / weight
        return tag


@dataclass
class _Channel(Generic[T]):
    # The channel's rows in the order they fell due: (order key, seq, item, rank).
    rows: list[tuple[tuple, int, T, Rank]] = field(default_factory=list)
    busy: bool = False
    ready_at: float = 0.0  # monotonic: the channel's next post may go from then on
    token: int = 0  # invalidates stale entries of the ready heap


class FairQueue(Generic[T]):
    """Claimed rows of one platform, handed out in fair order under per-channel rules.

    `push` a row with its tag, channel and order key; `pop` the next one to send (None when
    every queued channel is busy or spacing); `done` when its send finished.
    """

    def __init__(self, *, channel_interval: float = 0.0, monotonic: Callable[[], float]) -> None:
        self.channel_interval = channel_interval
        self._monotonic = monotonic
        self._channels: dict[Hashable, _Channel[T]] = {}
        self._ready: list[tuple[Rank, tuple, int, int, Hashable]] = []  # by (tag, order)
        self._spacing: list[tuple[float, int, Hashable]] = []  # by ready_at
        self._seq = itertools.count()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def push(self, item: T, *, rank: Rank, channel: Hashable, order: tuple) -> None:
        state = self._channels.get(channel)
        if state is None:
            state = self._channels[channel] = _Channel()
        heapq.heappush(state.rows, (order, next(self._seq), item, rank))
        self._size += 1
        if not state.busy and state.rows[0][2] is item:  # a new head: (re)offer the channel
            self._offer(channel, state)

    def pop(self) -> T | None:
        """The queued row with the lowest tag whose channel may take a post now."""
        self._wake_spaced()
        while self._ready:
            _rank, _order, _seq, token, channel = heapq.heappop(self._ready)
            state = self._channels[channel]
            if token != state.token or state.busy:
                continue  # stale: the channel's head changed since
            _order, _seq, item, _rank = heapq.heappop(state.rows)
            self._size -= 1
            state.busy = True
            state.ready_at = self._monotonic() + self.channel_interval
            return item
        return None

    def done(self, channel: Hashable) -> None:
        """The channel's post in flight finished: its next row may go (after the spacing)."""
        state = self._channels[channel]
        state.busy = False
        if not state.rows:
            del self._channels[channel]
            return
        self._offer(channel, state)

    def has_ready(self) -> bool:
        """Whether `pop` would return a row now."""
        self._wake_spaced()
        while self._ready:
            _rank, _order, _seq, token, channel = self._ready[0]
            state = self._channels.get(channel)
            if state is not None and token == state.token and not state.busy:
                return True
            heapq.heappop(self._ready)
        return False

    def next_ready_at(self) -> float | None:
        """When the earliest channel that is only waiting for its spacing may post again."""
        return self._spacing[0][0] if self._spacing else None

    def drain(self) -> list[T]:
        """Every queued row (not those in flight), emptying the queue: to give them back."""
        items = [item for state in self._channels.values() for _o, _s, item, _r in state.rows]
        for state in self._channels.values():
            state.rows.clear()
        self._channels = {c: s for c, s in self._channels.items() if s.busy}
        self._ready.clear()
        self._spacing.clear()
        self._size = 0
        return items

    def _offer(self, channel: Hashable, state: _Channel[T]) -> None:
        state.token += 1
        if state.ready_at > self._monotonic():
            heapq.heappush(self._spacing, (state.ready_at, state.token, channel))
            return
        order, _seq, _item, rank = state.rows[0]
        heapq.heappush(self._ready, (rank, order, next(self._seq), state.token, channel))

    def _wake_spaced(self) -> None:
        now = self._monotonic()
        while self._spacing and self._spacing[0][0] <= now:
            _at, token, channel = heapq.heappop(self._spacing)
            state = self._channels.get(channel)
            if state is None or token != state.token or state.busy or not state.rows:
                continue
            order, _seq, _item, rank = state.rows[0]
            heapq.heappush(self._ready, (rank, order, next(self._seq), state.token, channel))
