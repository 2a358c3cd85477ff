"""The per-platform limiter, on injected time: rate, per-channel spacing, 429 back-off."""

from __future__ import annotations

import asyncio

from bot.ratelimit import RateLimiter


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


def most_in_any_window(times: list[float], window: float) -> int:
    return max(
        sum(1 for other in times if start <= other < start + window - 1e-9) for start in times
    )


async def test_no_window_holds_more_than_the_cap_even_after_a_stall() -> None:
    """The bucket alone would allow burst + rate in a second; the cap keeps the platform's
    count. A stall (a busy CPU) followed by a rush must not cross it either."""
    t = FakeTime()
    limit = limiter(t, 48.0, burst=5, window_limit=49)
    times = []
    for n in range(300):
        if n == 100:
            t.now += 3.7  # the loop was busy: tokens piled up to the burst
        await limit.acquire()
        times.append(t.now)
    assert most_in_any_window(times, 1.0) <= 49


async def test_late_wake_ups_do_not_drift_the_rate() -> None:
    """Every sleep overshoots (asyncio on a busy machine): the bucket refills from elapsed
    time, so the long-run rate stays the configured one."""
    t = FakeTime()

    async def late_sleep(seconds: float) -> None:
        t.now += seconds + 0.004

    limit = RateLimiter(50.0, burst=2, monotonic=t.monotonic, sleep=late_sleep)
    for _ in range(1002):
        await limit.acquire()
    assert t.now < 20.0 + 0.05  # 1,000 after the burst at 50/s; drift would add 4 s


async def test_429s_that_cluster_pause_the_whole_platform_longer_each_time() -> None:
    t = FakeTime()
    limit = limiter(t, 1000.0, cluster_threshold=3, cluster_share=0.0, cluster_window=10.0,
                    cluster_pause=2.0)  # fmt: skip
    limit.observe(429, 0.1)
    limit.observe(429, 0.1)
    assert limit.blocked_until == 0.1  # two: each one's retry-after only
    limit.observe(429, 0.1)
    assert limit.blocked_until == 2.0  # three within 10 s: everything pauses 2 s
    await limit.acquire()
    assert t.now == 2.0
    for _ in range(3):
        limit.observe(429, 0.1)
    assert limit.blocked_until == t.now + 4.0  # again soon after: twice as long
    t.now += 1000.0
    for _ in range(3):
        limit.observe(429, 0.1)
    assert limit.blocked_until == t.now + 2.0  # calm for long: back to the first pause
    assert limit.rate_limited == 9 and limit.pauses == 3


async def test_scattered_429s_do_not_pause_the_platform() -> None:
    t = FakeTime()
    limit = limiter(t, 1000.0, cluster_threshold=3, cluster_share=0.0, cluster_window=10.0)
    for _ in range(5):
        limit.observe(429, 0.5)
        t.now += 6.0
    assert limit.pauses == 0


async def test_what_counts_as_a_cluster_grows_with_the_rate() -> None:
    """Half a percent of what the rate allows in the window: a raised limit's timing noise
    (a 429 now and then in thousands of requests) does not stop the whole platform."""
    t = FakeTime()
    raised = limiter(t, 500.0)  # 5,000 requests in 10 s: a cluster is 25 429s
    for _ in range(24):
        raised.observe(429, 0.01)
    assert raised.pauses == 0
    raised.observe(429, 0.01)
    assert raised.pauses == 1
    default = limiter(t, 50.0)  # Discord's default: 3 in 10 s, as before
    for _ in range(3):
        default.observe(429, 0.01)
    assert default.pauses == 1


async def test_invalid_requests_near_the_ban_threshold_pause_the_platform() -> None:
    """Discord bans an IP after 10,000 invalid requests (401/403/429) in 10 minutes."""
    t = FakeTime()
    limit = limiter(t, 1000.0, invalid_limit=100, max_pause=60.0)
    for _ in range(99):
        limit.observe(403)
        t.now += 1.0
    limit.observe(200)
    assert limit.pauses == 0
    limit.observe(403)
    assert limit.blocked_until == t.now + 60.0


async def test_must_wait_says_whether_acquire_would_wait_and_takes_nothing() -> None:
    t = FakeTime()
    limit = limiter(t, 2.0)  # a burst of 2
    assert not limit.must_wait() and not limit.must_wait()  # asking takes no grant
    await limit.acquire()
    assert not limit.must_wait()
    await limit.acquire()
    assert limit.must_wait()  # the burst is spent
    t.now += 0.5
    assert not limit.must_wait()
    limit.back_off(3.0)
    assert limit.must_wait()
    assert t.slept == [] and limit.requests == 2
