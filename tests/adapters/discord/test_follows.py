"""Follows on Discord end to end: "Notify me" on a real post -> a follower -> a DM at the next
drop, through the real discord.py (client, DynamicItem buttons, HTTPClient) and the fake server.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.discord.render import EMBED_TOTAL_LIMIT, render_message
from adapters.discord.sender import DM_CHANNELS, DiscordSender
from bot.agenda import posts_between
from bot.compose import release_message, reminder_message
from bot.models import Actor, Cadence, ChannelRef, Episode, Season, Show, UserRef
from fakes import discord_interactions as payloads
from fakes.discord_api import FakeDiscord, _invalid_message
from jobs.delivery import DeliveryEngine
from jobs.outbox import materialize
from tests.adapters.discord.conftest import TOKEN, answer_of
from tests.conftest import add_fam, add_long_week
from tests.jobs.support import claimed_by_a_crashed_runner

OPERATOR = Actor.operator()
CHANNEL = ChannelRef("discord", payloads.GUILD_A, payloads.CHANNEL_A)
MEMBER = "800000000000000077"
PREMIERE = datetime(2023, 11, 10, 5, 0, tzinfo=UTC)
EPISODE_2 = datetime(2023, 11, 17, 5, 0, tzinfo=UTC)
EPHEMERAL = 64


def engine_for(core, api: FakeDiscord) -> DeliveryEngine:
    sender = DiscordSender(TOKEN, api_base=api.base_url, store=core.store, clock=core.clock)
    return DeliveryEngine(core.store, {"discord": sender}, core.clock)


async def deliver_at(core, api: FakeDiscord, at: datetime) -> None:
    core.clock.set(at)
    engine = engine_for(core, api)
    try:
        await engine.run_pass()
    finally:
        await engine.senders["discord"].close()


def click(message: dict[str, Any], label: str, *, user: str = MEMBER, dm: bool = False) -> dict:
    """A click on the button called `label` of `message` (as the server stored it)."""
    [button] = [
        c for row in message["components"] for c in row["components"] if c["label"] == label
    ]
    return payloads.component(message, button["custom_id"], user=user, dm=dm)


async def clicked(bot, api: FakeDiscord, payload: dict) -> dict:
    """Feed the click to discord.py's own dispatch (as the gateway does); the answer sent."""
    before = len(api.interaction_callbacks)
    bot._connection.parse_interaction_create(payload)
    await api.wait_for_request("POST", r"/interactions/.*/callback", count=before + 1)
    return api.interaction_callbacks[-1]


async def test_notify_me_follows_and_the_next_drop_is_one_dm_and_one_post(bot, api, core):
    add_fam(core)
    core.subscribe(OPERATOR, CHANNEL, "For All Mankind")
    await deliver_at(core, api, PREMIERE)  # the premiere post, with "Notify me"
    [post] = api.messages[payloads.CHANNEL_A]
    answer = await clicked(bot, api, click(post, "Notify me"))
    assert answer["type"] == 4 and answer["data"]["flags"] & EPHEMERAL
    assert answer["data"]["content"] == (
        "You will get a direct message when S4E2 drops. Stop: /episodes unfollow"
    )
    again = await clicked(bot, api, click(post, "Notify me"))
    assert again["data"]["content"].startswith("You already follow For All Mankind")
    assert len(core.store.follows(UserRef.parse(f"discord-user:{MEMBER}"))) == 1

    await deliver_at(core, api, EPISODE_2)
    dm_channel = api.dm_channels[MEMBER]
    [dm] = api.messages[dm_channel]
    assert dm["embeds"][0]["title"] == "For All Mankind S4E2 is out"
    assert [c["label"] for c in dm["components"][0]["components"]] == [
        "Watch the trailer", "Unfollow"
    ]  # fmt: skip
    assert len(api.messages[payloads.CHANNEL_A]) == 2  # the channel got its own post
    # The DM channel was opened once and remembered.
    assert len(api.requests_to("POST", r"^/users/@me/channels$")) == 1
    remembered = core.store.platform_object(DM_CHANNELS, "", MEMBER)
    assert (remembered.remote_id, remembered.updated_at) == (dm_channel, EPISODE_2)

    answer = await clicked(bot, api, click(dm, "Unfollow", dm=True))
    assert answer["data"]["content"] == "You no longer get direct messages about For All Mankind."
    assert core.store.follows(UserRef.parse(f"discord-user:{MEMBER}")) == []


async def test_dms_closed_pause_that_follow_and_the_channel_post_still_goes(bot, api, core):
    add_fam(core)
    core.subscribe(OPERATOR, CHANNEL, "For All Mankind")
    core.follow(OPERATOR, "For All Mankind", user=UserRef.parse(f"discord-user:{MEMBER}"))
    core.follow(OPERATOR, "For All Mankind", user=UserRef.parse("discord-user:800000000000000078"))
    api.dms_closed.add(MEMBER)
    await deliver_at(core, api, PREMIERE)
    assert len(api.messages[payloads.CHANNEL_A]) == 1
    assert len(api.messages[api.dm_channels["800000000000000078"]]) == 1
    assert api.messages[api.dm_channels[MEMBER]] == []
    [(closed, _)] = core.store.follows(UserRef.parse(f"discord-user:{MEMBER}"))
    assert closed.paused_reason.startswith("the member does not accept direct messages")
    # Told at their next use of a command, in the answer only they see.
    shows = await answer_of(bot, api, payloads.command("episodes shows", user=MEMBER))
    assert "Your direct messages about For All Mankind are paused" in shows["content"]
    other = await answer_of(bot, api, payloads.command("episodes shows"))
    assert "paused" not in other["content"]
    [post] = api.messages[payloads.CHANNEL_A]
    answer = await clicked(bot, api, click(post, "Notify me"))  # following again resumes
    assert "paused" not in answer["data"]["content"]
    assert core.store.follows(UserRef.parse(f"discord-user:{MEMBER}"))[0][0].paused_reason is None


async def test_a_restart_in_the_middle_of_a_dm_fan_out_sends_no_dm_twice(api, core):
    add_fam(core)
    members = [f"8000000000000001{n:02d}" for n in range(6)]
    for member in members:
        core.follow(OPERATOR, "For All Mankind", user=UserRef.parse(f"discord-user:{member}"))
    core.clock.set(PREMIERE)
    engine = engine_for(core, api)
    materialize(core.store, PREMIERE, engine.grace)
    rows = claimed_by_a_crashed_runner(core.store, PREMIERE, ["discord"])
    # The crash: three DMs reached Discord, none was recorded as sent.
    for row in rows[:3]:
        await engine.senders["discord"].send(engine._delivery(row))
    await engine.senders["discord"].close()
    restarted = engine_for(core, api)  # a new process: empty in-memory caches
    await restarted.recover()
    await restarted.drain()
    await restarted.senders["discord"].close()
    for member in members:
        assert len(api.messages[api.dm_channels[member]]) == 1, member
    assert core.store.outbox_counts()["sent"] == 6


async def test_digest_posts_fit_discord_and_list_times_in_each_readers_zone(core):
    add_long_week(core, CHANNEL, marker="<@&1>")
    posts = [
        p for p in posts_between(core.store, PREMIERE.replace(month=10), PREMIERE)
        if p.message.kind == "digest"
    ]  # fmt: skip
    assert len(posts) == 3
    for post in posts:
        payload = render_message(post.message)
        assert _invalid_message(payload) is None
        [embed] = payload["embeds"]
        assert len(embed["title"]) + len(embed["description"]) <= EMBED_TOTAL_LIMIT
        assert "<t:1699401600:f> · Show " in embed["description"]  # 2023-11-08 00:00 UTC
        assert "<@&1>" not in embed["description"]  # user text never pings
        assert "components" not in payload  # no "Notify me" on a digest


def test_render_buttons_only_where_they_belong():
    show = Show(7, "FAM", None, "UTC", datetime.min.time(), None)
    season = Season(3, 7, 4, PREMIERE.date(), 10, Cadence("weekly", 4), 1,
                    datetime.min.time(), "UTC", None, None)  # fmt: skip
    episodes = [Episode(1, 3, 1, None, PREMIERE, False)]
    release = render_message(release_message(show, season, episodes))
    assert release["components"][0]["components"] == [
        {"type": 2, "style": 1, "label": "Notify me", "custom_id": "episode-bot:follow:7"}
    ]
    dm = render_message(release_message(show, season, episodes), direct=True)
    assert dm["components"][0]["components"][0]["custom_id"] == "episode-bot:unfollow:7"
    assert "components" not in render_message(reminder_message(show, season, episodes, 3600))


async def test_follow_commands_and_the_digest_as_slash_commands(bot, api, core):
    add_fam(core)
    followed = await answer_of(
        bot,
        api,
        payloads.command(
            "episodes follow",
            [
                *payloads.options(show="For All Mankind"),
                {"name": "before", "type": 3, "value": "1h"},
            ],
            user=MEMBER,
        ),
    )
    assert followed["flags"] & EPHEMERAL
    assert followed["content"] == (
        "You will get a direct message when S4E1 drops (and 1h before). Stop: /episodes unfollow"
    )
    mine = await answer_of(bot, api, payloads.command("episodes following", user=MEMBER))
    assert mine["content"] == "You follow:\n\\- For All Mankind (and 1h before)"
    others = await answer_of(bot, api, payloads.command("episodes following"))
    assert others["content"] == "You follow no shows."
    refused = await answer_of(
        bot, api, payloads.command("episodes digest", payloads.options(when="monday 09:00"))
    )
    assert "manage this channel" in refused["content"]
    digest = await answer_of(
        bot,
        api,
        payloads.command(
            "episodes digest",
            payloads.options(when="monday 09:00", timezone="America/New_York"),
            permissions=payloads.MANAGER,
        ),
    )
    assert "gets a weekly digest: Mondays at 09:00 America/New\\_York" in digest["content"]
    forgot = await answer_of(bot, api, payloads.command("episodes forget-me", user=MEMBER))
    assert forgot["content"].startswith("Deleted 1 follow and 0 direct messages not yet sent.")


async def test_following_again_with_no_reminder_clears_them_as_subscribe_does(bot, api, core):
    add_fam(core)
    member = UserRef.parse(f"discord-user:{MEMBER}")

    async def follow(*before: str) -> str:
        chosen = [{"name": "before", "type": 3, "value": value} for value in before]
        payload = payloads.command(
            "episodes follow", [*payloads.options(show="For All Mankind"), *chosen], user=MEMBER
        )
        return (await answer_of(bot, api, payload))["content"]

    await follow("1d,1h")
    [(sub, _)] = core.store.follows(member)
    assert sorted(sub.reminders) == [3600, 86400]
    await follow()  # no choice at all: the reminders chosen earlier stay
    [(sub, _)] = core.store.follows(member)
    assert sorted(sub.reminders) == [3600, 86400]
    assert "(and" not in await follow("none")  # the "no reminder" choice
    [(sub, _)] = core.store.follows(member)
    assert sub.reminders == ()
