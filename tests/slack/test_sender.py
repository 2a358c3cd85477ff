"""SlackSender against the fake Web API through the real slack_sdk client: the wire format,
429/5xx/permanent errors, find_sent by metadata, and a fan-out that stays exactly-once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from adapters.slack.sender import METADATA_EVENT_TYPE, BoundedRateLimitRetryHandler, SlackSender
from bot.messages import Message, MessageKind
from bot.models import ChannelRef
from bot.sender import Delivery, PermanentSendError, SendReceipt, TransientSendError
from tests.fakes.slack_api import PERMANENT_CODES, FakeSlackApi
from tests.slack.conftest import BOT_TOKEN


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
    await sender.aclose()


def _delivery(
    channel: str = "C1", n: int = 1, title: str = "For All Mankind S4E1 is out"
) -> Delivery:
    message = Message(
        kind=MessageKind.EPISODE,
        title=title,
        text="Episode 1 is on Apple TV+.",
        show_title="For All Mankind",
        season_number=4,
        episode_number=1,
        release_at=datetime(2023, 11, 10, 5, tzinfo=UTC),
        timezone="America/New_York",
        link="https://youtu.be/trailer",
    )
    return Delivery(
        n, f"episode:{n}:release", ChannelRef("slack", "T0001", channel), message, f"ob{n}"
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
        await sender.aclose()
    assert api.rate_limited["chat.postMessage"] == 1
    assert api.posts_per_channel == {"C1": 2, "C2": 1}


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_transient(api: FakeSlackApi, sender: SlackSender, status: int) -> None:
    api.fault("chat.postMessage", status=status)
    with pytest.raises(TransientSendError, match=str(status)):
        await sender.send(_delivery())
    assert api.posts_per_channel["C1"] == 0


@pytest.mark.parametrize("code", PERMANENT_CODES)
async def test_permanent_codes(api: FakeSlackApi, sender: SlackSender, code: str) -> None:
    api.fault("chat.postMessage", error=code)
    with pytest.raises(PermanentSendError) as caught:
        await sender.send(_delivery())
    assert caught.value.reason and code.split("_")[0] in caught.value.reason.replace(" ", "_")


async def test_real_channel_states_are_permanent(api: FakeSlackApi, sender: SlackSender) -> None:
    api.add_channel("CGONE", exists=False)
    for channel, words in (("CNOTIN", "invite"), ("CARCH", "archived"), ("CGONE", "not found")):
        with pytest.raises(PermanentSendError, match=words):
            await sender.send(_delivery(channel))
    api.revoke(BOT_TOKEN)
    with pytest.raises(PermanentSendError, match="revoked"):
        await sender.send(_delivery())


async def test_network_error_is_transient() -> None:
    sender = SlackSender(BOT_TOKEN, base_url="http://127.0.0.1:9/api/", timeout=2)
    try:
        with pytest.raises(TransientSendError, match="network"):
            await sender.send(_delivery())
    finally:
        await sender.aclose()


async def test_find_sent_by_metadata(api: FakeSlackApi, sender: SlackSender) -> None:
    first, second = _delivery("C1", 1), _delivery("C1", 2)
    assert await sender.find_sent(first) is None
    receipt = await sender.send(first)
    await sender.send(_delivery("C1", 3))  # later posts do not hide it
    assert await sender.find_sent(first) == receipt
    assert await sender.find_sent(second) is None
    [request, *_] = api.requests_for("conversations.history")
    assert request.args["include_all_metadata"] in ("1", "true", True)


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
