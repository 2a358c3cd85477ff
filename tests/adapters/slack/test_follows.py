"""Follows on Slack end to end: "Notify me" (a signed block_actions request to the real Bolt
app) -> a follower -> a DM at the next drop (the real slack_sdk against the fake Web API)."""

from __future__ import annotations

import copy
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from adapters.slack.render import FOLLOW_ACTION, MAX_BLOCKS, UNFOLLOW_ACTION, render_message
from adapters.slack.sender import DM_CHANNELS, SlackSender
from bot.agenda import posts_between
from bot.models import Actor, ChannelRef, UserRef
from jobs.delivery import DeliveryEngine
from jobs.outbox import materialize
from tests.adapters.slack.conftest import BOT_TOKEN, TEAM, SlackHarness, sign
from tests.conftest import add_fam, add_long_week
from tests.jobs.support import claimed_by_a_crashed_runner

PAYLOADS = Path(__file__).resolve().parents[3] / "fakes" / "slack_payloads"
OPERATOR = Actor.operator()
CHANNEL = ChannelRef("slack", TEAM, "C1")
PREMIERE = datetime(2023, 11, 10, 5, 0, tzinfo=UTC)
EPISODE_2 = datetime(2023, 11, 17, 5, 0, tzinfo=UTC)
_KEYS = itertools.count(100)


async def deliver_at(slack: SlackHarness, at: datetime) -> None:
    slack.commands.clock.set(at)
    sender = SlackSender(
        BOT_TOKEN, base_url=slack.api.base_url, store=slack.store, clock=slack.commands.clock
    )
    try:
        await DeliveryEngine(slack.store, {"slack": sender}, slack.commands.clock).run_pass()
    finally:
        await sender.close()


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


async def click(slack: SlackHarness, message: dict, action_id: str, user: str = "UMEMBER") -> dict:
    """Click a button of a posted message as Slack reports it (block_actions, signed); the
    answer that arrives at the response_url."""
    [button] = [b for b in buttons(message) if b["action_id"] == action_id]
    payload = json.loads((PAYLOADS / "block_actions.json").read_text())
    key = str(next(_KEYS))
    payload["user"].update(id=user, username=user.lower(), name=user.lower())
    payload["message"] = copy.deepcopy(message)
    payload["actions"][0].update(action_id=action_id, value=button["value"])
    payload["response_url"] = slack.api.response_url(key)
    body = urlencode({"payload": json.dumps(payload)})
    expected = len(slack.api.responses) + 1
    assert await slack.post(body, sign(body), "application/x-www-form-urlencoded") == 200
    await slack.api.wait_for_responses(expected)
    [answer] = [r for r in slack.api.responses if r["_key"] == key]
    return answer


async def test_notify_me_then_one_dm_and_one_post_then_unfollow(slack: SlackHarness):
    add_fam(slack.commands)
    slack.commands.subscribe(OPERATOR, CHANNEL, "For All Mankind")
    await deliver_at(slack, PREMIERE)
    [post] = slack.api.channels["C1"].messages
    assert [b["action_id"] for b in buttons(post)] == ["episode_link", FOLLOW_ACTION]

    answer = await click(slack, post, FOLLOW_ACTION)
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert answer["text"] == (
        "You will get a direct message when S4E2 drops. Stop: /episodes unfollow"
    )
    again = await click(slack, post, FOLLOW_ACTION)
    assert again["text"].startswith("You already follow For All Mankind")
    assert len(slack.store.follows(UserRef.parse("slack-user:T0001/UMEMBER"))) == 1

    await deliver_at(slack, EPISODE_2)
    [dm] = slack.api.channels["DUMEMBER"].messages
    assert dm["metadata"]["event_type"] == "episode_bot_post"
    assert [b["action_id"] for b in buttons(dm)] == ["episode_link", UNFOLLOW_ACTION]
    assert len(slack.api.channels["C1"].messages) == 2
    assert slack.api.calls["conversations.open"] == 1
    remembered = slack.store.platform_object(DM_CHANNELS, TEAM, "UMEMBER")
    assert (remembered.remote_id, remembered.updated_at) == ("DUMEMBER", EPISODE_2)

    answer = await click(slack, dm, UNFOLLOW_ACTION)
    assert answer["text"] == "You no longer get direct messages about For All Mankind."
    assert slack.store.follows(UserRef.parse("slack-user:T0001/UMEMBER")) == []


async def test_a_member_the_app_cannot_dm_is_paused_and_the_channel_still_gets_its_post(
    slack: SlackHarness,
):
    slack.api.add_user("UBOTFRIEND").is_bot = True
    add_fam(slack.commands)
    slack.commands.subscribe(OPERATOR, CHANNEL, "For All Mankind")
    for user in ("UBOTFRIEND", "UMEMBER"):
        slack.commands.follow(
            OPERATOR, "For All Mankind", user=UserRef.parse(f"slack-user:{TEAM}/{user}")
        )
    await deliver_at(slack, PREMIERE)
    assert len(slack.api.channels["C1"].messages) == 1
    assert len(slack.api.channels["DUMEMBER"].messages) == 1
    [(paused, _)] = slack.store.follows(UserRef.parse(f"slack-user:{TEAM}/UBOTFRIEND"))
    assert paused.paused_reason == "the member is a bot, which cannot get direct messages"
    assert slack.store.subscriptions(paused_only=True) == []


async def test_follow_commands_and_the_digest_in_slash_commands(slack: SlackHarness):
    add_fam(slack.commands)
    followed = await slack.slash('follow "For All Mankind" --before 1h')
    assert followed["text"] == (
        "You will get a direct message when S4E1 drops (and 1h before). Stop: /episodes unfollow"
    )
    assert (await slack.slash("following"))[
        "text"
    ] == "You follow:\n- For All Mankind (and 1h before)"
    other = await slack.slash("following", user="UADMIN")
    assert other["text"] == "You follow no shows."  # nobody else sees who follows what
    digest = await slack.slash('digest "monday 09:00" --tz America/New_York --only')
    assert digest["text"].startswith(
        "slack:T0001/C1 gets a weekly digest instead of a post per drop"
    )
    refused = await slack.slash("digest monday 09:00", channel="CNOTIN")
    assert "invite" in refused["text"].lower()
    forgot = await slack.slash("forget-me")
    assert forgot["text"].startswith("Deleted 1 follow and 0 direct messages not yet sent.")
    assert slack.store.follows(UserRef.parse("slack-user:T0001/UMEMBER")) == []


def test_digest_posts_fit_slack(commands):
    add_long_week(commands, CHANNEL, marker="<!channel>")
    posts = [
        p for p in posts_between(commands.store, datetime(2023, 11, 1, tzinfo=UTC), PREMIERE)
        if p.message.kind == "digest"
    ]  # fmt: skip
    assert len(posts) == 3
    for post in posts:
        payload = render_message(post.message)
        assert len(payload.blocks) <= MAX_BLOCKS
        lines = [b["text"]["text"] for b in payload.blocks if b["type"] == "section"][1:]
        assert len(lines) == len(post.message.entries)
        assert lines[0].startswith("<!date^1699401600^")
        assert all("<!channel>" not in line for line in lines)


async def test_a_restart_in_the_middle_of_a_dm_fan_out_sends_no_dm_twice(slack: SlackHarness):
    add_fam(slack.commands)
    members = [f"UF{n}" for n in range(5)]
    for member in members:
        slack.api.add_user(member)
        slack.commands.follow(
            OPERATOR, "For All Mankind", user=UserRef.parse(f"slack-user:{TEAM}/{member}")
        )
    slack.commands.clock.set(PREMIERE)
    materialize(slack.store, PREMIERE, timedelta(hours=12))
    rows = claimed_by_a_crashed_runner(slack.store, PREMIERE, ["slack"])
    first = SlackSender(BOT_TOKEN, base_url=slack.api.base_url, store=slack.store)
    engine = DeliveryEngine(slack.store, {"slack": first}, slack.commands.clock)
    for row in rows[:3]:  # the crash: Slack took three DMs, none was recorded as sent
        await first.send(engine._delivery(row))
    await first.close()
    restarted = SlackSender(BOT_TOKEN, base_url=slack.api.base_url, store=slack.store)
    engine = DeliveryEngine(slack.store, {"slack": restarted}, slack.commands.clock)
    try:
        await engine.recover()  # finds the three by their metadata in the IM history
        await engine.drain()
    finally:
        await restarted.close()
    assert [len(slack.api.channels[f"D{m}"].messages) for m in members] == [1] * 5
    assert slack.store.outbox_counts()["sent"] == 5
