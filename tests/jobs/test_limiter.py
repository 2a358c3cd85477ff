"""The per-platform limiter, on injected time: rate, per-channel spacing, 429 back-off."""

from __future__ import annotations

import asyncio

from jobs.limiter import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limiter(t: FakeTime, rate: float, **kwargs: float) -> RateLimiter:
    return RateLimiter(rate, monotonic=t.monotonic, sleep=t.sleep, **kwargs)  # type: ignore[arg-type]


async def test_global_rate_is_kept_after_the_burst() -> None:
    t = FakeTime()
    limit = limiter(t, 50.0)
    for _ in range(150):
        await limit.acquire()
    # 50 in the burst, then 100 more at 50/s: two seconds.
    assert abs(t.now - 2.0) < 1e-6


async def test_per_channel_spacing() -> None:
    t = FakeTime()
    limit = limiter(t, 20.0, per_channel_interval=1.0)
    await limit.acquire("C1")
    await limit.acquire("C2")
    assert t.now == 0.0
    await limit.acquire("C1")
    assert t.now == 1.0


async def test_back_off_stops_the_platform_for_retry_after() -> None:
    t = FakeTime()
    limit = limiter(t, 1000.0)
    await limit.acquire()
    limit.back_off(3.0)
    await limit.acquire()
    assert t.now == 3.0


async def test_a_channel_waiting_for_its_slot_does_not_hold_up_the_others() -> None:
    t = FakeTime()
    waits: list[tuple[float, asyncio.Event]] = []

    async def parked_sleep(seconds: float) -> None:  # sleeps until the test releases it
        woken = asyncio.Event()
        waits.append((seconds, woken))
        await woken.wait()

    limit = RateLimiter(20.0, per_channel_interval=1.0, monotonic=lambda: t.now,
                        sleep=parked_sleep)  # fmt: skip
    await limit.acquire("C1")
    second_to_c1 = asyncio.create_task(limit.acquire("C1"))
    await asyncio.sleep(0)
    assert [seconds for seconds, _ in waits] == [1.0]  # C1 waits for its next slot...
    await asyncio.wait_for(limit.acquire("C2"), timeout=5)  # ...C2 goes straight through
    assert not second_to_c1.done()
    t.now = 1.0
    waits[0][1].set()
    await second_to_c1
