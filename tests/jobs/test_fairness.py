"""The fair-share policy (jobs/fairness.py), pure: tags, queue order, channel rules, on an
injected monotonic clock."""

from __future__ import annotations

from dataclasses import dataclass

from bot.keys import NotificationKey
from jobs.fairness import (
    RELEASE_WEIGHT,
    REMINDER_WEIGHT,
    FairQueue,
    RankAssigner,
    weight_of,
)


@dataclass(frozen=True)
class Row:
    group: str
    n: int
    channel: str
    due: int = 0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def queue(clock: Clock | None = None, interval: float = 0.0) -> FairQueue[Row]:
    return FairQueue(channel_interval=interval, monotonic=clock or Clock())


def plan(q: FairQueue[Row], ranks: RankAssigner, group: str, size: int, weight: float) -> None:
    for n in range(size):
        row = Row(group, n, f"{group}-{n}")
        q.push(row, rank=ranks.rank(group, weight), channel=row.channel, order=(0, group, n))


def send_all(q: FairQueue[Row]) -> list[Row]:
    """Send everything, one at a time, each send finishing at once."""
    out = []
    while (row := q.pop()) is not None:
        out.append(row)
        q.done(row.channel)
    return out


def test_a_small_drop_planned_with_a_big_one_finishes_first() -> None:
    q = queue()
    ranks = RankAssigner(0.0)
    plan(q, ranks, "big", 5000, RELEASE_WEIGHT)
    plan(q, ranks, "small", 5, RELEASE_WEIGHT)
    order = send_all(q)
    last_small = max(i for i, row in enumerate(order) if row.group == "small")
    assert last_small < 10  # about its own N/R: 5 posts, sharing the rate with one other drop
    assert len(order) == 5005 and len(set(order)) == 5005


def test_a_drop_planned_later_shares_from_where_the_queue_is() -> None:
    q = queue()
    plan(q, RankAssigner(0.0), "big", 1000, RELEASE_WEIGHT)
    head = [q.pop() for _ in range(400)]
    for row in head:
        assert row is not None
        q.done(row.channel)
    serving = 400 / RELEASE_WEIGHT  # the tag the queue has reached
    plan(q, RankAssigner(serving), "small", 5, RELEASE_WEIGHT)
    order = send_all(q)
    smalls = [i for i, row in enumerate(order) if row.group == "small"]
    # Neither behind the remaining 600 nor ahead of all of them: interleaved from now on.
    assert smalls == [0, 2, 4, 6, 8] or smalls == [1, 3, 5, 7, 9]


def test_reminders_due_before_a_drop_leave_it_most_of_the_rate() -> None:
    q = queue()
    ranks = RankAssigner(0.0)
    plan(q, ranks, "reminders", 1000, weight_of(NotificationKey.parse("episode:1:before:1h")))
    plan(q, ranks, "drop", 100, weight_of(NotificationKey.parse("episode:2:release")))
    first = send_all(q)[:100]
    drop_share = sum(row.group == "drop" for row in first) / len(first)
    assert drop_share >= RELEASE_WEIGHT / (RELEASE_WEIGHT + REMINDER_WEIGHT) - 0.02


def test_weights_by_kind() -> None:
    assert weight_of(NotificationKey.parse("episode:7:release")) == RELEASE_WEIGHT
    assert weight_of(NotificationKey.parse("episode:7:before:1h")) == REMINDER_WEIGHT
    assert REMINDER_WEIGHT < weight_of(NotificationKey.parse("season:3:announced")) < RELEASE_WEIGHT


def test_channel_order_is_kept_whatever_the_tags() -> None:
    """A channel's rows go in the order they fell due, one at a time, even when a later row
    carries a lower tag (it belongs to a smaller group)."""
    q = queue()
    early = Row("announced", 0, "C", due=1)
    late = Row("trailer", 0, "C", due=2)
    other = Row("trailer", 1, "D", due=2)
    q.push(late, rank=0.0, channel="C", order=(2, 10))
    q.push(early, rank=50.0, channel="C", order=(1, 11))
    q.push(other, rank=0.5, channel="D", order=(2, 12))
    assert q.pop() == other  # C's head is `early` (tag 50): D's row ranks first
    first_c = q.pop()
    assert first_c == early
    assert q.pop() is None  # C has a post in flight: its next waits
    q.done("C")
    assert q.pop() == late


def test_a_channel_waits_its_spacing_without_holding_up_others() -> None:
    clock = Clock()
    q = queue(clock, interval=1.0)
    for n, channel in enumerate(["C1", "C1", "C2"]):
        q.push(Row("g", n, channel), rank=float(n), channel=channel, order=(0, n))
    assert q.pop() == Row("g", 0, "C1")
    q.done("C1")
    assert q.pop() == Row("g", 2, "C2")  # C1 is spacing, C2 goes
    q.done("C2")
    assert q.pop() is None and not q.has_ready()
    assert q.next_ready_at() == 1.0
    clock.now = 1.0
    assert q.pop() == Row("g", 1, "C1")


def test_starvation_bound() -> None:
    """A row tagged t is sent after at most the rows tagged below t: those queued before it,
    and from each group planned later (starting at the tag V being served then) at most
    weight * (t - V) + 1. Here a big reminder wave keeps being overtaken by new drops."""
    q = queue()
    big = RankAssigner(0.0)
    tags: dict[Row, float] = {}
    for n in range(300):
        row = Row("big", n, f"big-{n}")
        tags[row] = big.rank("big", REMINDER_WEIGHT)
        q.push(row, rank=tags[row], channel=row.channel, order=(0, n))
    starts: list[tuple[float, int]] = []  # (V, size) of each group planned later
    position = 0
    served_tag = 0.0
    while len(q):
        if position % 7 == 3 and position < 600:  # a new 20-channel drop every few sends
            group = f"drop{position}"
            starts.append((served_tag, 20))
            ranks = RankAssigner(served_tag)
            for n in range(20):
                row = Row(group, n, f"{group}-{n}")
                tags[row] = ranks.rank(group, RELEASE_WEIGHT)
                q.push(row, rank=tags[row], channel=row.channel, order=(0, n))
        row = q.pop()
        assert row is not None
        q.done(row.channel)
        served_tag = tags[row]
        if row.group == "big":
            t = tags[row]
            bound = row.n + sum(
                min(size, int(RELEASE_WEIGHT * (t - v)) + 1) for v, size in starts if v <= t
            )
            assert position <= bound, (row, position, bound)
        position += 1
    assert position == 300 + 20 * len(starts)  # everything went out, the wave included


def test_drain_gives_back_what_is_queued() -> None:
    q = queue()
    plan(q, RankAssigner(0.0), "g", 3, RELEASE_WEIGHT)
    in_flight = q.pop()
    assert in_flight is not None
    left = q.drain()
    assert sorted(row.n for row in left) == [1, 2] and len(q) == 0 and q.pop() is None
