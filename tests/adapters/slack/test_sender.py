"""SlackSender against the fake Web API through the real slack_sdk client: the wire format,
429/5xx/permanent errors, find_sent by metadata, and a fan-out that stays exactly-once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.slack.sender import (
    METADATA_EVENT_TYPE,
    BoundedRateLimitRetryHandler,
    SlackSender,
    earliest_post,
)
from bot.keys import NotificationKey
from bot.messages import Message, MessageKind
from bot.models import ChannelRef, UserRef
from bot.ratelimit import RateLimiter
from bot.sender import (
    CannotTellError,
    Delivery,
    PermanentSendError,
    SenderUnavailableError,
    SendReceipt,
    TransientSendError,
    may_still_send,
)
from fakes.slack_api import (
    CHANNEL_CODES,
    PAYLOAD_CODES,
    UNAVAILABLE_CODES,
    FakeSlackApi,
)
from tests.adapters.slack.conftest import BOT_TOKEN

RELEASE = datetime(2023, 11, 10, 5, tzinfo=UTC)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
async def sender(api: FakeSlackApi, sleeps: list[float]) -> AsyncIterator[SlackSender]:
    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)  # recorded, not waited: the test checks the wait it asked for

    retry = BoundedRateLimitRetryHandler(max_retry_count=2, max_wait=5.0, sleep=fake_sleep)
    sender = SlackSender(BOT_TOKEN, base_url=api.base_url, retry_handler=retry)
    yield sender
    await sender.close()


def _delivery(
    channel: str = "C1",
    n: int = 1,
    title: str = "For All Mankind S4E1 is out",
    *,
    release_at: datetime | None = RELEASE,
    key: str | None = None,
    due_at: datetime | None = None,
) -> Delivery:
    message = Message(
        kind=MessageKind.EPISODE,
        title=title,
        text="Episode 1 is on Apple TV+.",
        show_title="For All Mankind",
        season_number=4,
        episode_number=1,
        release_at=release_at,
        timezone="America/New_York",
        link="https://youtu.be/trailer",
    )
    return Delivery(
        n,
        NotificationKey.parse(key or f"episode:{n}:release"),
        ChannelRef("slack", "T0001", channel),
        message,
        f"ob{n}",
        due_at=due_at or release_at or RELEASE,
    )


async def test_post_on_the_wire(api: FakeSlackApi, sender: SlackSender) -> None:
    receipt = await sender.send(_delivery(title="<!channel> FAM & co"))
    [request] = api.requests_for("chat.postMessage")
    assert request.authorization == f"Bearer {BOT_TOKEN}"
    body = request.json_body
    assert body["channel"] == "C1"
    assert body["metadata"] == {"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": "ob1"}}
    assert body["text"].startswith("&lt;!channel&gt; FAM &amp; co")
    assert body["blocks"][0]["type"] == "header"
    assert "<!channel>" not in str(body)
    assert receipt == SendReceipt(api.messages_in("C1")[0]["ts"])


async def test_429_retry_after_is_honoured(
    api: FakeSlackApi, sender: SlackSender, sleeps: list[float]
) -> None:
    api.fault("chat.postMessage", status=429, retry_after=3)
    receipt = await sender.send(_delivery())
    assert len(sleeps) == 1 and 3.0 <= sleeps[0] < 3.1
    assert api.calls["chat.postMessage"] == 2
    assert api.posts_per_channel["C1"] == 1
    assert receipt.platform_message_id


async def test_long_retry_after_goes_back_to_the_engine(
    api: FakeSlackApi, sender: SlackSender, sleeps: list[float]
) -> None:
    api.fault("chat.postMessage", status=429, retry_after=30)
    with pytest.raises(TransientSendError) as caught:
        await sender.send(_delivery())
    assert caught.value.retry_after == 30
    assert sleeps == []
    assert api.posts_per_channel["C1"] == 0


async def test_429_storm_after_retries_is_transient(
    api: FakeSlackApi, sender: SlackSender, sleeps: list[float]
) -> None:
    api.fault("chat.postMessage", status=429, retry_after=1, times=3)
    with pytest.raises(TransientSendError) as caught:
        await sender.send(_delivery())
    assert caught.value.retry_after == 1
    assert len(sleeps) == 2  # max_retry_count


async def test_per_channel_rate_limit(api: FakeSlackApi) -> None:
    clock = _Clock()
    api.clock, api.per_channel_interval = clock, 1.0

    async def advance(seconds: float) -> None:
        clock.now += seconds  # the fake's time moves as if we had waited

    retry = BoundedRateLimitRetryHandler(sleep=advance)
    sender = SlackSender(BOT_TOKEN, base_url=api.base_url, retry_handler=retry)
    try:
        await sender.send(_delivery("C1", 1))
        await sender.send(_delivery("C2", 2))  # another channel is not limited
        clock.now += 0.2
        await sender.send(_delivery("C1", 3))  # 429 Retry-After 1 -> waited, then retried
    finally:
        await sender.close()
    assert api.rate_limited["chat.postMessage"] == 1
    assert api.posts_per_channel == {"C1": 2, "C2": 1}


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_transient(api: FakeSlackApi, sender: SlackSender, status: int) -> None:
    api.fault("chat.postMessage", status=status)
    with pytest.raises(TransientSendError, match=str(status)):
        await sender.send(_delivery())
    assert api.posts_per_channel["C1"] == 0


@pytest.mark.parametrize("code", UNAVAILABLE_CODES)
async def test_the_bot_refused_pauses_nothing(
    api: FakeSlackApi, sender: SlackSender, code: str
) -> None:
    api.fault("chat.postMessage", error=code)
    with pytest.raises(SenderUnavailableError) as caught:
        await sender.send(_delivery())
    assert not isinstance(caught.value, PermanentSendError)
    assert caught.value.retry_after == 900.0 and caught.value.reason
    assert BOT_TOKEN not in caught.value.reason


@pytest.mark.parametrize("code", CHANNEL_CODES)
async def test_channel_refusals_pause(api: FakeSlackApi, sender: SlackSender, code: str) -> None:
    api.fault("chat.postMessage", error=code)
    with pytest.raises(PermanentSendError) as caught:
        await sender.send(_delivery())
    assert caught.value.pause is True and caught.value.reason


@pytest.mark.parametrize("code", [*PAYLOAD_CODES, "some_code_slack_added_later"])
async def test_payload_and_unknown_refusals_fail_the_post_only(
    api: FakeSlackApi, sender: SlackSender, code: str
) -> None:
    api.fault("chat.postMessage", error=code)
    with pytest.raises(PermanentSendError) as caught:
        await sender.send(_delivery())
    assert caught.value.pause is False and caught.value.reason
    await sender.send(_delivery(n=2))  # the channel itself is fine
    assert api.posts_per_channel["C1"] == 1


async def test_real_channel_states_pause(api: FakeSlackApi, sender: SlackSender) -> None:
    api.add_channel("CGONE", exists=False)
    for channel, words in (("CNOTIN", "invite"), ("CARCH", "archived"), ("CGONE", "not found")):
        with pytest.raises(PermanentSendError, match=words) as caught:
            await sender.send(_delivery(channel))
        assert caught.value.pause is True


async def test_a_revoked_or_wrong_token_pauses_nothing(api: FakeSlackApi) -> None:
    api.revoke(BOT_TOKEN)
    wrong = SlackSender("xoxb-wrong", base_url=api.base_url)
    revoked = SlackSender(BOT_TOKEN, base_url=api.base_url)
    try:
        with pytest.raises(SenderUnavailableError, match="revoked"):
            await revoked.send(_delivery())
        with pytest.raises(SenderUnavailableError, match="invalid"):
            await wrong.send(_delivery())
    finally:
        await wrong.close()
        await revoked.close()
    assert api.posts_per_channel["C1"] == 0


async def test_network_error_is_transient() -> None:
    sender = SlackSender(BOT_TOKEN, base_url="http://127.0.0.1:9/api/", timeout=2)
    try:
        with pytest.raises(TransientSendError, match="network"):
            await sender.send(_delivery())
    finally:
        await sender.close()


async def test_find_sent_by_metadata(api: FakeSlackApi, sender: SlackSender) -> None:
    first, second = _delivery("C1", 1), _delivery("C1", 2)
    assert await sender.find_sent(first) is None
    receipt = await sender.send(first)
    await sender.send(_delivery("C1", 3))  # later posts do not hide it
    assert await sender.find_sent(first) == receipt
    assert await sender.find_sent(second) is None
    [request, *_] = api.requests_for("conversations.history")
    assert request.args["include_all_metadata"] in ("1", "true", True)


def _since(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


async def test_find_sent_is_one_call_of_15_since_the_row_fell_due(api: FakeSlackApi) -> None:
    """Non-Marketplace apps: 1 conversations.history call a minute, 15 messages at most.
    Reading from the due time on, one call sees every message posted since."""
    api.non_marketplace = True
    clock = _Clock()
    api.clock = clock
    sender = SlackSender(BOT_TOKEN, base_url=api.base_url)
    try:
        now = time.time()
        due = now - 3600  # the drop was an hour ago
        for n in range(40):  # a busy channel before the drop: older than the row
            api.seed_message("C1", due - 7200 + n, f"chatter {n}")
        stuck = _delivery("C1", 7, release_at=_since(due))
        receipt = await sender.send(stuck)  # Slack took it; the process died before recording
        for n in range(10):
            api.seed_message("C1", now + 1 + n, f"reply {n}")
        assert await sender.find_sent(stuck) == receipt
        [request] = api.requests_for("conversations.history")
        assert int(request.args["limit"]) == 15
        assert float(request.args["oldest"]) == pytest.approx(due - 60, abs=1e-3)
        with pytest.raises(TransientSendError) as caught:  # the second call within the minute
            await sender.find_sent(stuck)
        assert caught.value.retry_after == 60
        clock.now += 60
        assert await sender.find_sent(stuck) == receipt
    finally:
        await sender.close()


async def test_find_sent_for_a_reminder_reads_from_its_own_due_time(
    api: FakeSlackApi, sender: SlackSender
) -> None:
    release = datetime(2023, 11, 10, 5, tzinfo=UTC)
    reminder = _delivery("C1", 3, key="episode:3:before:1h30m", release_at=release,
                         due_at=release - timedelta(hours=1, minutes=30))  # fmt: skip
    assert earliest_post(reminder) == datetime(2023, 11, 10, 3, 29, tzinfo=UTC)
    await sender.find_sent(reminder)
    [request] = api.requests_for("conversations.history")
    assert float(request.args["oldest"]) == earliest_post(reminder).timestamp()


def test_announcements_and_trailers_are_looked_for_from_their_due_time_too() -> None:
    # The sender reads the due time the Delivery carries; it never works it out of the key.
    announced = datetime(2023, 9, 13, 12, tzinfo=UTC)
    trailer = _delivery(key="season:4:trailer:2", release_at=None, due_at=announced)
    assert earliest_post(trailer) == announced - timedelta(minutes=1)


async def test_find_sent_cannot_tell_after_more_than_15_messages(api: FakeSlackApi) -> None:
    api.non_marketplace = True
    sender = SlackSender(BOT_TOKEN, base_url=api.base_url)
    try:
        now = time.time()
        stuck = _delivery("C1", 8, release_at=_since(now - 600))
        await sender.send(stuck)
        for n in range(20):
            api.seed_message("C1", now + 1 + n, f"reply {n}")
        with pytest.raises(CannotTellError, match=r"more than 15 .*episode:8:release"):
            await sender.find_sent(stuck)
    finally:
        await sender.close()


async def test_find_sent_cannot_tell_without_access(api: FakeSlackApi, sender: SlackSender) -> None:
    assert await sender.find_sent(_delivery("CNOTIN")) is None
    api.fault("conversations.history", status=503)
    with pytest.raises(TransientSendError):
        await sender.find_sent(_delivery())


async def test_fan_out_with_storms_is_exactly_once(api: FakeSlackApi, sender: SlackSender) -> None:
    """An engine-like loop over 300 channels: 429 storms, 5xx bursts, and a crash between the
    send and its record for some rows. Every channel ends with exactly one post."""
    channels = [f"C{i:04d}" for i in range(300)]
    api.fault("chat.postMessage", status=429, retry_after=1, times=40)
    api.fault("chat.postMessage", status=503, times=25)
    api.fault("chat.postMessage", status=429, retry_after=60, times=10)
    deliveries = [_delivery(channel, i) for i, channel in enumerate(channels)]
    crashed = {d.outbox_id for d in deliveries[::7]}  # sent, then the process "died"
    state = {d.outbox_id: "pending" for d in deliveries}
    limiter = asyncio.Semaphore(sender.max_concurrency)

    async def deliver(delivery: Delivery) -> None:
        async with limiter:
            for _ in range(20):
                if (
                    state[delivery.outbox_id] == "sending"
                    and await sender.find_sent(delivery) is not None
                ):
                    state[delivery.outbox_id] = "sent"
                    return
                state[delivery.outbox_id] = "sending"
                try:
                    await sender.send(delivery)
                except TransientSendError:
                    state[delivery.outbox_id] = "pending"
                    continue
                if delivery.outbox_id in crashed:
                    crashed.discard(delivery.outbox_id)
                    continue  # crash: the post is out, the row still says "sending"
                state[delivery.outbox_id] = "sent"
                return
            raise AssertionError("gave up")

    await asyncio.gather(*(deliver(d) for d in deliveries))
    assert set(state.values()) == {"sent"}
    assert all(api.posts_per_channel[c] == 1 for c in channels)
    assert sum(api.posts_per_channel.values()) == len(channels)


async def test_a_post_the_lease_guard_withholds_never_reaches_slack(
    api: FakeSlackApi, sender: SlackSender
) -> None:
    """As on Discord: asked as the bytes are written, a runner whose lease is no longer
    fresh (paused after the engine's check) posts nothing."""
    await sender.send(_delivery("C1", 1))  # the connection is open and warm
    may_still_send.set(lambda: False)
    with pytest.raises(TransientSendError, match="no longer fresh"):
        await sender.send(_delivery("C2", 2))
    may_still_send.set(lambda: True)
    assert api.posts_per_channel.get("C2", 0) == 0
    assert len(api.requests_for("chat.postMessage")) == 1
    await sender.send(_delivery("C2", 3))
    assert api.posts_per_channel["C2"] == 1


async def test_a_dm_whose_channel_the_lease_guard_withholds_says_so(
    api: FakeSlackApi, sender: SlackSender
) -> None:
    """The IM channel's `conversations.open` is a request like the post: withheld by the
    guard, it is reported as the stale lease it is, not as a network error."""
    api.add_user("UMEMBER")
    await sender.send(_delivery("C1", 1))  # the connection is open and warm
    may_still_send.set(lambda: False)
    try:
        with pytest.raises(TransientSendError, match="no longer fresh"):
            await sender.send(_delivery(UserRef("slack", "T0001", "UMEMBER").inbox.channel, 2))
    finally:
        may_still_send.set(lambda: True)
    assert api.calls.get("conversations.open", 0) == 0
    await sender.send(_delivery(UserRef("slack", "T0001", "UMEMBER").inbox.channel, 3))
    assert api.posts_per_channel["DUMEMBER"] == 1


async def test_look_ups_draw_from_the_history_tier_budget(api: FakeSlackApi) -> None:
    """conversations.history has a tier of its own: each look-up waits for that budget,
    and a 429 from it backs that budget off."""
    now = [0.0]
    waited: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waited.append(seconds)
        now[0] += seconds

    budget = RateLimiter(1 / 60, burst=1, monotonic=lambda: now[0], sleep=fake_sleep)
    sender = SlackSender(BOT_TOKEN, base_url=api.base_url, history_budget=budget)
    try:
        await sender.find_sent(_delivery("C1", 1))
        await sender.find_sent(_delivery("C1", 2))
        assert waited == [pytest.approx(60.0)]  # one a minute: the second waited its turn
        api.fault("conversations.history", status=429, retry_after=30)
        with pytest.raises(TransientSendError):
            await sender.find_sent(_delivery("C1", 3))
        assert budget.rate_limited == 1 and budget.blocked_until == pytest.approx(now[0] + 30)
    finally:
        await sender.close()
