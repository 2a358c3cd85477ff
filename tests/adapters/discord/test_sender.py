"""DiscordSender through real discord.py against the fake server: what goes on the wire and
how every failure is classified for the delivery engine."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import discord
import pytest

from adapters.discord.sender import DiscordSender, nonce_for
from bot.keys import NotificationKey
from bot.messages import Message, MessageKind
from bot.models import ChannelRef
from bot.sender import (
    CannotTellError,
    Delivery,
    PermanentSendError,
    SendError,
    SenderUnavailableError,
    TransientSendError,
    may_still_send,
)
from fakes.discord_api import FakeDiscord
from tests.adapters.discord.conftest import TOKEN

GUILD = "900000000000000001"
CHANNEL = "900000000000000101"


def delivery(
    channel: str = CHANNEL,
    *,
    title: str = "For All Mankind S4E1 is out",
    key: str = "d-1",
    mention: str | None = None,
    due_at: datetime | None = None,
) -> Delivery:
    message = Message(
        kind=MessageKind.PREMIERE,
        title=title,
        text="Season 4 premieres on Apple TV+.",
        show_title="For All Mankind",
        season_number=4,
        episode_number=1,
        link="https://example.com/fam",
        release_at=datetime(2023, 11, 10, 2, 0, tzinfo=UTC),
        mention=mention,
    )
    channel_ref = ChannelRef("discord", GUILD, channel)
    due = due_at or message.release_at
    return Delivery(1, NotificationKey.release(1), channel_ref, message, key, due_at=due)


@pytest.fixture
async def sender(api: FakeDiscord):
    async with DiscordSender(TOKEN, api_base=api.base_url) as s:
        yield s


async def test_posts_an_embed_with_nonce_and_no_mentions(api, sender):
    receipt = await sender.send(delivery())
    [request] = api.requests_to("POST", rf"^/channels/{CHANNEL}/messages$")
    body = request.json
    assert body["nonce"] == "d-1" and body["enforce_nonce"] is True
    assert body["allowed_mentions"] == {"parse": []}
    assert body["embeds"][0]["title"] == "For All Mankind S4E1 is out"
    assert body["components"][0]["components"][0]["style"] == 5
    assert request.headers["Authorization"] == f"Bot {TOKEN}"
    assert receipt.platform_message_id == api.messages[CHANNEL][0]["id"]


async def test_a_resend_with_the_same_nonce_creates_one_message(api, sender):
    first = await sender.send(delivery())
    second = await sender.send(delivery())  # e.g. after a crash before the row was marked sent
    assert first == second
    assert api.message_count(CHANNEL) == 1
    await sender.send(delivery(key="d-2"))
    assert api.message_count(CHANNEL) == 2


def test_long_idempotency_keys_become_stable_25_char_nonces():
    key = "episode:123456:before:86400:sub:987654"
    assert len(nonce_for(key)) == 25 and nonce_for(key) == nonce_for(key)
    assert nonce_for(key) != nonce_for(key + "x")


async def test_route_429s_are_retried_by_discord_py(api, sender):
    api.rate_limit_next(2, retry_after=0.001, path_contains="/messages")
    await sender.send(delivery())
    assert api.status_counts[429] == 2
    assert api.message_count(CHANNEL) == 1


async def test_a_global_429_is_retried(api, sender):
    api.rate_limit_next(1, retry_after=0.001, is_global=True)
    await sender.send(delivery())
    [limited] = [r for r in api.requests if r.status == 429]
    assert api.message_count(CHANNEL) == 1 and limited.path.endswith("/messages")


async def test_the_global_limit_answers_documented_429s(api):
    api.global_limit, api.global_window = 1, 0.05
    async with DiscordSender(TOKEN, api_base=api.base_url) as s:  # its login uses the second
        await s.send(delivery())
    assert api.status_counts[429] >= 1
    assert api.message_count(CHANNEL) == 1


async def test_route_buckets_are_respected_without_429s(api, sender):
    api.route_limit, api.route_window = 2, 0.05
    for number in range(3):
        await sender.send(delivery(key=f"k{number}"))
    assert api.message_count(CHANNEL) == 3
    assert api.status_counts[429] == 0  # discord.py waited for the bucket's reset itself


async def test_a_429_storm_outlasting_retries_is_transient_with_retry_after(api, sender):
    api.rate_limit_next(5, retry_after=0.001, path_contains="/messages")
    with pytest.raises(TransientSendError) as caught:
        await sender.send(delivery())
    assert caught.value.retry_after is not None
    assert api.message_count(CHANNEL) == 0


async def test_server_errors_are_transient(api, sender):
    api.fail_next(1, 503, path_contains="/messages")
    with pytest.raises(TransientSendError):
        await sender.send(delivery())
    assert api.message_count(CHANNEL) == 0
    await sender.send(delivery())
    assert api.message_count(CHANNEL) == 1


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        ("unknown_channels", "channel not found"),
        ("missing_access", "Missing Access"),
        ("missing_permissions", "Missing Permissions"),
    ],
)
async def test_channel_errors_are_permanent_and_pause(api, sender, broken, reason):
    getattr(api, broken).add(CHANNEL)
    with pytest.raises(PermanentSendError) as caught:
        await sender.send(delivery())
    assert reason in caught.value.reason
    assert caught.value.pause is True
    assert not isinstance(caught.value, TransientSendError)


@pytest.mark.parametrize(
    ("status", "code", "text"),
    [(403, 50007, "Cannot send messages to this user"), (404, 0, "404: Not Found")],
)
async def test_other_channel_403_and_404_pause(api, sender, status, code, text):
    api.refuse_next(1, status, code, text, path_contains="/messages")
    with pytest.raises(PermanentSendError) as caught:
        await sender.send(delivery())
    assert caught.value.pause is True


async def test_a_payload_discord_refuses_fails_the_post_without_pausing(api, sender):
    api.refuse_next(1, 400, 50035, "Invalid Form Body", path_contains="/messages")
    with pytest.raises(PermanentSendError) as caught:
        await sender.send(delivery())
    assert caught.value.pause is False and "50035" in caught.value.reason
    await sender.send(delivery(key="d-2"))  # the channel itself is fine
    assert api.message_count(CHANNEL) == 1


async def test_a_token_reset_while_running_pauses_nothing(api, sender):
    api.token = "the-token-after-a-reset"  # the bot's old token now answers 401
    with pytest.raises(SenderUnavailableError) as caught:
        await sender.send(delivery())
    assert not isinstance(caught.value, PermanentSendError)
    assert caught.value.retry_after == 900.0
    assert "401" in caught.value.reason and "DISCORD_TOKEN" in caught.value.reason
    assert TOKEN not in str(caught.value) and "the-token-after" not in str(caught.value)
    assert api.message_count(CHANNEL) == 0


async def test_a_bad_token_at_start_is_a_clear_send_error_and_never_shown(api):
    sender = DiscordSender("wrong-secret-token", api_base=api.base_url)
    with pytest.raises(SenderUnavailableError) as caught:
        await sender.start()  # what episode_bot.cli._open_senders calls: it catches SendError
    assert isinstance(caught.value, SendError)
    assert "401" in caught.value.reason and "DISCORD_TOKEN" in caught.value.reason
    assert "wrong-secret-token" not in str(caught.value) + repr(sender)
    await sender.close()


async def test_a_bad_token_on_a_lazy_login_in_send_pauses_nothing(api):
    sender = DiscordSender("wrong-secret-token", api_base=api.base_url)
    with pytest.raises(SenderUnavailableError) as caught:
        await sender.send(delivery())
    assert not isinstance(caught.value, PermanentSendError)
    assert "wrong-secret-token" not in str(caught.value) + repr(sender)
    await sender.close()


async def test_a_connection_failure_is_transient(api):
    sender = DiscordSender(TOKEN, api_base=api.base_url)
    await sender.start()
    await api.close()
    try:
        with pytest.raises(TransientSendError):
            await sender.send(delivery())
    finally:
        await sender.close()


async def test_not_a_discord_channel_is_permanent(sender):
    bad = replace(delivery(), channel=ChannelRef("slack", "T1", "C1"))
    with pytest.raises(PermanentSendError):
        await sender.send(bad)


async def test_mention_injection_in_a_title_pings_nobody_on_the_wire(api, sender):
    await sender.send(delivery(title="@everyone @here <@&900000000000000555> S4 is out"))
    [message] = api.messages[CHANNEL]
    assert message["mention_everyone"] is False and message["mention_roles"] == []
    assert "@everyone" not in str(message["embeds"])


async def test_an_opted_in_role_is_the_only_ping(api, sender):
    role = "900000000000000777"
    await sender.send(delivery(title="@everyone look", mention=role))
    [request] = api.requests_to("POST", "/messages$")
    assert request.json["allowed_mentions"] == {"parse": [], "roles": [role]}
    [message] = api.messages[CHANNEL]
    assert message["mention_roles"] == [role] and message["mention_everyone"] is False


def just_due() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=5)


async def test_every_post_names_its_outbox_key_in_the_embed_footer(api, sender):
    await sender.send(delivery(key="eb42"))
    [request] = api.requests_to("POST", rf"^/channels/{CHANNEL}/messages$")
    assert request.json["embeds"][0]["footer"] == {"text": "ref eb42"}


async def test_find_sent_adopts_the_bots_own_post_without_the_nonce(api, sender):
    api.remember_nonces = False
    due = just_due()
    api.seed_message(CHANNEL, "before ours")
    posted = await sender.send(delivery(key="eb7", due_at=due))
    api.seed_message(CHANNEL, "after ours")
    found = await sender.find_sent(delivery(key="eb7", due_at=due))
    assert found is not None and found.platform_message_id == posted.platform_message_id
    [read] = api.requests_to("GET", rf"^/channels/{CHANNEL}/messages$")
    assert read.query["limit"] == "100" and int(read.query["after"]) > 0
    assert await sender.find_sent(delivery(key="eb8", due_at=due)) is None  # another row


async def test_find_sent_ignores_a_lookalike_footer_from_someone_else(api, sender):
    due = just_due()
    fake = api.seed_message(CHANNEL, "copy")
    fake["embeds"] = [{"footer": {"text": "ref eb7"}}]
    assert await sender.find_sent(delivery(key="eb7", due_at=due)) is None


async def test_find_sent_cannot_tell_when_a_page_of_others_came_first(api, sender):
    due = just_due()
    for n in range(100):
        api.seed_message(CHANNEL, f"chatter {n}")
    await sender.send(delivery(key="eb9", due_at=due))
    with pytest.raises(CannotTellError, match="100 messages"):
        await sender.find_sent(delivery(key="eb9", due_at=due))


async def test_find_sent_sees_nothing_without_read_message_history(api, sender):
    due = just_due()
    await sender.send(delivery(key="eb5", due_at=due))
    api.no_history.add(CHANNEL)
    assert await sender.find_sent(delivery(key="eb5", due_at=due)) is None


async def test_the_fakes_history_pages_like_discord(api, sender):
    ids = [int(api.seed_message(CHANNEL, f"m{n}")["id"]) for n in range(5)]
    http = sender._http
    newest = await http.logs_from(int(CHANNEL), 2)
    assert [int(m["id"]) for m in newest] == [ids[4], ids[3]]  # newest first
    after = await http.logs_from(int(CHANNEL), 2, after=ids[0])
    assert [int(m["id"]) for m in after] == [ids[2], ids[1]]  # the two right after, newest first
    before = await http.logs_from(int(CHANNEL), 2, before=ids[4])
    assert [int(m["id"]) for m in before] == [ids[3], ids[2]]
    assert all("nonce" not in m for m in newest)
    with pytest.raises(discord.HTTPException) as refused:
        await http.logs_from(int(CHANNEL), 101)
    assert refused.value.status == 400 and refused.value.code == 50035


async def test_a_drop_for_many_channels_survives_429s_5xx_and_a_resend(api):
    """What the delivery engine does, in miniature: send concurrently, retry the transient
    failures, then resend everything (a crash before rows were marked sent)."""
    channels = [str(900000000000001000 + n) for n in range(60)]
    api.global_limit, api.global_window = 40, 0.02
    api.rate_limit_next(3, retry_after=0.001, path_contains="/messages")
    api.rate_limit_next(2, retry_after=0.001, is_global=True, path_contains="/messages")
    api.fail_next(4, 503, path_contains="/messages")
    deliveries = [delivery(channel, key=f"drop-{channel[-4:]}") for channel in channels]
    async with DiscordSender(TOKEN, api_base=api.base_url, max_concurrency=16) as sender:
        gate = asyncio.Semaphore(sender.max_concurrency)

        async def deliver(item: Delivery) -> str:
            for _attempt in range(10):
                async with gate:
                    try:
                        return (await sender.send(item)).platform_message_id
                    except TransientSendError:
                        continue
            raise AssertionError("never delivered")

        first = await asyncio.gather(*(deliver(d) for d in deliveries))
        again = await asyncio.gather(*(deliver(d) for d in deliveries))
    assert first == again
    assert all(api.message_count(channel) == 1 for channel in channels)
    assert api.status_counts[429] >= 5 and api.status_counts[503] == 4
    posts = api.requests_to("POST", "/messages$")
    assert all(p.json["nonce"] and p.json["enforce_nonce"] for p in posts)


async def test_a_request_the_lease_guard_withholds_never_reaches_discord(api, sender):
    """The engine's last word, asked as the bytes are written: a runner paused after its lease
    check (and possibly taken over) posts nothing when it wakes up."""
    await sender.send(delivery(key="eb1"))  # the connection is open and warm
    may_still_send.set(lambda: False)
    with pytest.raises(TransientSendError, match="no longer fresh"):
        await sender.send(delivery(key="eb2"))
    assert len(api.requests_to("POST", rf"^/channels/{CHANNEL}/messages$")) == 1
    may_still_send.set(lambda: True)
    await sender.send(delivery(key="eb3"))
    assert api.message_count(CHANNEL) == 2
