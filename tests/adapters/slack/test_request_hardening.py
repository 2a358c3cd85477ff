"""What an attacker (or a misconfigured app) can send the HTTP endpoint: unsigned or
malformed bodies, signed requests from another workspace, a user of another workspace,
group pings by members, a replay after a restart, mentions hidden in titles."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from adapters.slack.sender import SlackSender
from bot.clock import FixedClock
from bot.commands import Commands
from bot.keys import NotificationKey
from bot.messages import Message, MessageField, MessageKind
from bot.models import ChannelRef
from bot.sender import Delivery
from bot.store import Store, open_store
from fakes.slack_api import FakeSlackApi
from tests.adapters.slack.conftest import (
    BOT_TOKEN,
    SIGNING_SECRET,
    TEAM,
    SlackHarness,
    running,
    sign,
)

FAM = "For All Mankind"
ADD_FAM = f'admin show add "{FAM}"'
FORM = "application/x-www-form-urlencoded"

# ----------------------------------------------------------------------------- item 11

MALFORMED = [
    (b"{not json", "application/json"),
    (b"\xff\xfe\x00 invalid utf-8 \xc3\x28", FORM),
    (b"payload=%7Bgarbage", FORM),
    (b"payload=%5B1%2C2%5D", FORM),  # JSON, but not an object
    (b'["a list"]', "application/json"),
]


async def _post_bytes(slack: SlackHarness, body: bytes, headers: dict[str, str]) -> int:
    async with slack.http.post(slack.url, data=body, headers=headers) as response:
        await response.read()
        return response.status


def _sign_bytes(body: bytes) -> dict[str, str]:
    """Slack's v0 signature over raw bytes (conftest's `sign` takes text)."""
    ts = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest.hexdigest()}"}


async def test_unsigned_malformed_requests_are_401_with_at_most_one_log_line(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        for _ in range(40):
            for body, content_type in MALFORMED:
                headers = {"Content-Type": content_type, "X-Slack-Signature": "v0=forged"}
                assert await _post_bytes(slack, body, headers) == 401
    ours = [r for r in caplog.records if r.levelno >= logging.INFO and "slack" in r.name]
    assert len(ours) <= 1, [r.getMessage() for r in ours]
    assert not [r for r in caplog.records if r.exc_info], "no traceback is logged"
    assert slack.api.responses == []


async def test_signed_but_malformed_requests_are_400_without_a_traceback(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        for body, content_type in MALFORMED:
            headers = {**_sign_bytes(body), "Content-Type": content_type}
            assert await _post_bytes(slack, body, headers) == 400
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


# ----------------------------------------------------------------------------- item 12


async def _raw_slash(slack: SlackHarness, text: str, *, user: str, team: str) -> tuple[int, str]:
    body = slack.command_body(text, user=user, team=team, key="raw")
    headers = {**sign(body), "Content-Type": FORM}
    async with slack.http.post(slack.url, data=body.encode(), headers=headers) as response:
        return response.status, await response.text()


async def test_a_signed_request_from_another_workspace_is_refused(slack: SlackHarness) -> None:
    slack.api.add_user("UADMIN2", team_id="T0002", is_admin=True)
    status, text = await _raw_slash(slack, ADD_FAM, user="UADMIN2", team="T0002")
    assert status == 200
    answer = json.loads(text)
    assert answer["response_type"] == "ephemeral"
    assert "another Slack workspace" in answer["text"]
    assert slack.store.visible_shows("slack:T0002") == []
    assert slack.api.calls["users.info"] == 0
    assert slack.api.responses == []


async def test_an_admin_of_another_workspace_is_no_admin_here(slack: SlackHarness) -> None:
    # The request names this workspace, but users.info says the user belongs to another.
    slack.api.add_user("UFOREIGN", team_id="T0002", is_admin=True)
    refused = await slack.slash(ADD_FAM, user="UFOREIGN")
    assert "Only workspace admins and owners" in refused["text"]
    assert slack.store.visible_shows(f"slack:{TEAM}") == []


async def test_enterprise_install_serves_its_organisation_only() -> None:
    async with FakeSlackApi(
        bot_token=BOT_TOKEN, team_id="T0001", enterprise_id="E0001", enterprise_install=True
    ) as api:
        api.add_user("UADMIN", is_admin=True, enterprise_id="E0001")
        api.add_user("UGUEST", is_admin=True, enterprise_id="E0999", team_id="T0009")
        store = open_store(":memory:")
        commands = Commands(store, FixedClock(datetime(2023, 10, 1, tzinfo=UTC)))
        try:
            async with running(api, commands, store) as harness:

                async def grid_slash(text: str, user: str, team: str, enterprise: str) -> int:
                    body = harness.command_body(text, user=user, team=team, key=user)
                    body += "&" + urlencode(
                        {"enterprise_id": enterprise, "is_enterprise_install": "true"}
                    )
                    body = body.replace("is_enterprise_install=false&", "")
                    return await harness.post(body, sign(body), FORM)

                # Another workspace of the same organisation: served, as the organisation.
                assert await grid_slash(ADD_FAM, "UADMIN", "T0005", "E0001") == 200
                await api.wait_for_responses(1)
                assert [s.title for s in store.visible_shows("slack:E0001")] == [FAM]
                # Another organisation: refused before anything runs.
                calls = api.calls["users.info"]
                assert await grid_slash('admin show add "X"', "UGUEST", "T0009", "E0999") == 200
                assert api.calls["users.info"] == calls
                assert store.visible_shows("slack:E0999") == []
        finally:
            store.close()


# ----------------------------------------------------------------------------- item 13


async def _fam_with_season(slack: SlackHarness) -> None:
    await slack.slash(ADD_FAM, user="UADMIN")


async def test_a_member_cannot_make_posts_ping_a_user_group(slack: SlackHarness) -> None:
    await _fam_with_season(slack)
    refused = await slack.slash(f"subscribe {FAM} --mention <!subteam^S0123ABC>")
    assert "admin" in refused["text"]
    assert slack.store.subscriptions(tenant_key=f"slack:{TEAM}") == []
    allowed = await slack.slash(f"subscribe {FAM} --mention <!subteam^S0123ABC>", user="UADMIN")
    assert "Subscribed" in allowed["text"]
    [subscription] = slack.store.subscriptions(tenant_key=f"slack:{TEAM}")
    assert subscription.mention == "S0123ABC"


async def test_a_setting_names_members_who_may_ping_groups(
    api: FakeSlackApi, commands: Commands, store: Store
) -> None:
    async with running(api, commands, store, slack_mention_user_ids="UMEMBER") as slack:
        await _fam_with_season(slack)
        allowed = await slack.slash(f"subscribe {FAM} --mention <!subteam^S0123ABC>")
        assert "Subscribed" in allowed["text"]


# ----------------------------------------------------------------------------- item 14


async def test_a_request_replayed_after_a_restart_is_refused(api: FakeSlackApi, tmp_path) -> None:
    path = tmp_path / "episode-bot.db"
    body = urlencode(
        {
            "team_id": TEAM,
            "channel_id": "C1",
            "user_id": "UADMIN",
            "command": "/episodes",
            "text": 'admin show add "Once Only"',
            "api_app_id": "A0APP",
            "is_enterprise_install": "false",
            "response_url": api.response_url("replay"),
            "trigger_id": "trigger.replay",
        }
    )
    headers = {**sign(body), "Content-Type": FORM}
    statuses = []
    for _ in range(2):  # the same captured request, before and after a restart
        store = open_store(path)
        commands = Commands(store, FixedClock(datetime(2023, 10, 1, tzinfo=UTC)))
        try:
            async with running(api, commands, store) as slack:
                statuses.append(await slack.post(body, headers, FORM))
                if statuses[-1] == 200:
                    await api.wait_for_responses(1)
        finally:
            store.close()
    assert statuses == [200, 401]
    assert len(api.responses) == 1


# ----------------------------------------------------------------------------- item 15


def _mrkdwn_objects(blocks: list[dict]) -> list[dict]:
    found = []
    for block in blocks:
        for text in [block.get("text"), *block.get("fields", [])]:
            if isinstance(text, dict) and text.get("type") == "mrkdwn":
                found.append(text)
    return found


async def test_posts_mark_user_text_verbatim(api: FakeSlackApi) -> None:
    message = Message(
        kind=MessageKind.EPISODE,
        title="@here Night Show",
        text="New on @channel Night Show: S1E1.",
        show_title="@channel Night Show",
        season_number=1,
        episode_number=1,
        fields=(MessageField("Show", "@everyone Night Show"), MessageField("Title", "@here")),
        release_at=datetime(2023, 11, 10, 5, tzinfo=UTC),
        timezone="UTC",
        mention="S0123ABC",
    )
    sender = SlackSender(BOT_TOKEN, base_url=api.base_url)
    try:
        key = NotificationKey.release(1)
        channel = ChannelRef("slack", TEAM, "C1")
        delivery = Delivery(1, key, channel, message, "eb1", due_at=message.release_at)
        await sender.send(delivery)
    finally:
        await sender.close()
    [request] = api.requests_for("chat.postMessage")
    texts = _mrkdwn_objects(request.json_body["blocks"])
    assert texts, request.json_body["blocks"]
    assert all(text.get("verbatim") is True for text in texts), texts
    # The control sequences the renderer builds itself still work under verbatim.
    assert "<!subteam^S0123ABC>" in texts[0]["text"]


async def test_command_answers_mark_user_text_verbatim(slack: SlackHarness) -> None:
    await slack.slash('admin show add "@here Night Show"', user="UADMIN")
    answer = await slack.slash("shows")
    texts = _mrkdwn_objects(answer.get("blocks", []))
    assert texts and all(text.get("verbatim") is True for text in texts), answer
    assert "@here Night Show" in "".join(text["text"] for text in texts)


async def test_error_answers_mark_user_text_verbatim(slack: SlackHarness) -> None:
    answer = await slack.slash('schedule "@here Nowhere"')
    assert "No show called" in answer["text"]
    texts = _mrkdwn_objects(answer.get("blocks", []))
    assert texts and all(text.get("verbatim") is True for text in texts), answer
