"""`/episodes` end to end: signed HTTP requests to the real Bolt app, the real core on an
in-memory store, answers read back from the fake response_url."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.adapters.slack.conftest import SlackHarness, running, sign

PAYLOADS = Path(__file__).resolve().parents[3] / "fakes" / "slack_payloads"
FAM = '"For All Mankind"'
ADD_SHOW = f'admin show add {FAM} --network "Apple TV+" --tz America/New_York --time 00:00'
ADD_SEASON = (
    f"admin season add {FAM} 4 --premiere 2023-11-10 --episodes 10 --every friday "
    "--trailer <https://www.youtube.com/watch?v=fam4|youtube.com/watch?v=fam4>"
)


async def _fam(slack: SlackHarness) -> None:
    assert "Added For All Mankind" in (await slack.slash(ADD_SHOW, user="UADMIN"))["text"]
    assert "10 episodes" in (await slack.slash(ADD_SEASON, user="UADMIN"))["text"]


def _snapshot(slack: SlackHarness) -> tuple:
    store = slack.store
    shows = store.visible_shows(None)
    seasons = [(s.number, s.premiere) for show in shows for s in store.seasons_of(show.id)]
    subs = [(str(s.channel), s.show_id, s.reminders) for s in store.subscriptions()]
    return ([s.title for s in shows], seasons, subs)


async def test_fam_s4_schedule_lists_ten_fridays(slack: SlackHarness) -> None:
    await _fam(slack)
    answer = await slack.slash(f"schedule {FAM}")
    assert answer["response_type"] == "ephemeral"
    stamps = [
        int(s)
        for s in re.findall(r"<!date\^(\d+)\^\{date_short_pretty\} \{time\}\|", answer["text"])
    ]
    assert len(stamps) == 10
    local = [
        datetime.fromtimestamp(s, UTC).astimezone(ZoneInfo("America/New_York")) for s in stamps
    ]
    assert all(d.weekday() == 4 and (d.hour, d.minute) == (0, 0) for d in local)
    assert local[0].date().isoformat() == "2023-11-10"
    assert local[-1].date().isoformat() == "2024-01-12"


async def test_member_subscribes_the_channel(slack: SlackHarness) -> None:
    await _fam(slack)
    answer = await slack.slash(f"subscribe {FAM} --before 1d,1h", user="UMEMBER")
    assert "Subscribed slack:T0001/C1 to For All Mankind" in answer["text"]
    assert "https://www.youtube.com/watch?v=fam4" in answer["text"]
    [sub] = slack.store.subscriptions(tenant_key="slack:T0001")
    assert str(sub.channel) == "slack:T0001/C1" and sub.reminders == (86400, 3600)
    listed = await slack.slash("subscriptions")
    assert "For All Mankind" in listed["text"]
    assert "For All Mankind" in (await slack.slash("next"))["text"]
    assert "fam4" in (await slack.slash(f"trailer {FAM}"))["text"]
    assert "For All Mankind" in (await slack.slash("shows mankind"))["text"]
    assert "Unsubscribed" in (await slack.slash("unsubscribe For All Mankind"))["text"]
    assert slack.store.subscriptions(tenant_key="slack:T0001") == []


async def test_subscribing_a_channel_without_the_bot_explains_invite(slack: SlackHarness) -> None:
    await _fam(slack)
    for channel in ("CNOTIN", "G0PRIVATE_UNSEEN"):
        if channel.startswith("G"):
            slack.api.add_channel(channel, exists=False)
        answer = await slack.slash(f"subscribe {FAM}", channel=channel)
        assert "/invite @episode-bot" in answer["text"]
    assert slack.store.subscriptions() == []


async def test_non_admin_admin_command_is_refused_and_changes_nothing(
    slack: SlackHarness,
) -> None:
    await _fam(slack)
    before = _snapshot(slack)
    for text in (
        'admin show add "Severance"',
        f"admin season add {FAM} 5 --premiere 2025-01-03 --episodes 10",
        f"admin season move {FAM} 4 --premiere 2023-12-01",
        f"admin season remove {FAM} 4",
    ):
        answer = await slack.slash(text, user="UMEMBER")
        assert "Only workspace admins and owners" in answer["text"]
        assert answer["response_type"] == "ephemeral"
    assert _snapshot(slack) == before


async def test_owner_and_configured_admins_may_use_admin_commands(api, commands, store) -> None:
    async with running(api, commands, store, slack_admin_user_ids="UMEMBER, UX") as slack:
        assert "Added" in (await slack.slash('admin show add "A"', user="UMEMBER"))["text"]
        assert "Added" in (await slack.slash('admin show add "B"', user="UOWNER"))["text"]


async def test_malformed_commands_get_usage_and_change_nothing(slack: SlackHarness) -> None:
    await _fam(slack)
    before = _snapshot(slack)
    cases = {
        "subscribe": "Usage: /episodes subscribe SHOW",
        'subscribe "For All Mankind': "Usage: /episodes help",
        "frobnicate": "Usage: /episodes help",
        f"admin season add {FAM} 5 --episodes 10": "--premiere is required",
        f"admin season add {FAM} 5 --premiere 2025-02-30 --episodes 10": "not a",
        f"admin season add {FAM} 5 --premiere 2025-01-03 --episodes 0": "episode",
        f"admin season add {FAM} 4 --premiere 2025-01-03 --episodes 10": "already has",
        f"admin season trailer {FAM} 4 javascript:alert(1)": "not a web link",
        'admin show add "X" --tz Mars/Olympus': "Mars/Olympus",
    }
    for text, expected in cases.items():
        answer = await slack.slash(text, user="UADMIN")
        assert expected.lower() in answer["text"].lower(), (text, answer)
        assert answer["response_type"] == "ephemeral"
    assert _snapshot(slack) == before


async def test_help(slack: SlackHarness) -> None:
    answer = await slack.slash("")
    assert "/episodes subscribe SHOW" in answer["text"]
    assert "/episodes admin season add SHOW NUMBER --premiere" in answer["text"]


async def test_workspace_isolation(slack: SlackHarness) -> None:
    """One bot token serves one workspace: a signed request from another is refused before
    anything runs, whatever it asks (test_request_hardening.py covers the wire)."""
    await _fam(slack)  # a private show of T0001
    slack.api.add_user("UADMIN2", team_id="T0002", is_admin=True)
    before = _snapshot(slack)
    for text in (
        f"schedule {FAM}",
        f"admin season move {FAM} 4 --premiere 2023-12-01",
        f"subscribe {FAM}",
        "subscriptions",
    ):
        body = slack.command_body(text, user="UADMIN2", team="T0002", key="other")
        headers = {**sign(body), "Content-Type": "application/x-www-form-urlencoded"}
        async with slack.http.post(slack.url, data=body.encode(), headers=headers) as response:
            answer = json.loads(await response.text())
        assert "another Slack workspace" in answer["text"]
        assert FAM not in answer["text"]
    assert _snapshot(slack) == before
    assert all(r["_key"] != "other" for r in slack.api.responses)


async def test_mention_injection_is_escaped_on_the_wire(slack: SlackHarness) -> None:
    # Typed as text, Slack sends `&lt;!channel&gt;`; typed as a mention it sends `<!channel>`.
    added = await slack.slash("admin show add &lt;!channel&gt; &lt;@U0123&gt; Show", user="UADMIN")
    assert "&lt;!channel&gt; &lt;@U0123&gt; Show" in added["text"]
    await slack.slash("admin show add <!here> Night", user="UADMIN")
    answer = await slack.slash("shows")
    for response in slack.api.responses:
        for token in ("<!channel>", "<!here>", "<@U0123>", "<!everyone>"):
            assert token not in response["text"]
    assert "&lt;!channel&gt;" in answer["text"]


async def test_uninstall_and_token_revocation_pause_the_workspace(slack: SlackHarness) -> None:
    await _fam(slack)
    await slack.slash(f"subscribe {FAM}")
    body = (PAYLOADS / "app_uninstalled.json").read_text()
    assert await slack.event(json.dumps(json.loads(body))) == 200
    [sub] = slack.store.subscriptions(tenant_key="slack:T0001")
    assert sub.paused_reason and "uninstalled" in sub.paused_reason


async def test_tokens_revoked_pauses(slack: SlackHarness) -> None:
    await _fam(slack)
    await slack.slash(f"subscribe {FAM}")
    body = json.dumps(json.loads((PAYLOADS / "tokens_revoked.json").read_text()))
    assert await slack.event(body) == 200
    [sub] = slack.store.subscriptions(tenant_key="slack:T0001")
    assert sub.paused_reason and "revoked" in sub.paused_reason


@pytest.mark.parametrize("text", ["shows", "help"])
async def test_ack_is_an_empty_200(slack: SlackHarness, text: str) -> None:
    """The HTTP answer is Bolt's ack (Slack wants it within 3 s); the reply follows."""
    body = slack.command_body(text, user="UMEMBER", key="ack")
    headers = {**sign(body), "Content-Type": "application/x-www-form-urlencoded"}
    async with slack.http.post(slack.url, data=body.encode(), headers=headers) as response:
        assert response.status == 200
        assert await response.text() == ""
    [answer] = await slack.api.wait_for_responses(1)
    assert answer["_key"] == "ack"


async def test_the_admin_cache_is_per_workspace(slack) -> None:
    """users.info answers are cached per (tenant, user), and count only for a user of the
    request's own workspace."""
    slack.api.add_user("USAME", is_admin=True)
    added = await slack.slash('admin show add "Cached"', user="USAME")
    assert "Added" in added["text"]
    assert slack.api.calls["users.info"] == 1
    slack.api.users["USAME"].team_id = "T0002"  # users.info now places the user elsewhere
    again = await slack.slash('admin show add "Still cached"', user="USAME")  # cached
    assert "Added" in again["text"]
    assert slack.api.calls["users.info"] == 1
    slack.api.add_user("UMOVED", team_id="T0002", is_admin=True)
    refused = await slack.slash('admin show add "Leak"', user="UMOVED")
    assert "Only workspace admins and owners" in refused["text"]
    assert slack.api.calls["users.info"] == 2
