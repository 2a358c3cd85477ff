"""The `admin season add` modal: signed requests to the real Bolt app, the real core, the fake
Web API (views.open, chat.postEphemeral) on the other side.

Interactivity payloads are sent as Slack sends them: `payload=<json>` form-encoded, signed
like a slash command, to /slack/events. A view_submission's answer (errors or clear) is the
HTTP response to that request.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from adapters.slack import modal
from bot.models import Actor
from tests.adapters.slack.conftest import TEAM, SlackHarness, sign

FAM = "For All Mankind"
ADD_SHOW = f'admin show add "{FAM}" --network "Apple TV+" --tz America/New_York --time 00:00'
TRAILER = "https://www.youtube.com/watch?v=fam4"
_SERIAL = itertools.count(1)  # every payload differs (trigger_id), as Slack's do


# ------------------------------------------------------------------ helpers


async def _post_form(slack: SlackHarness, body: str) -> tuple[int, str]:
    headers = {**sign(body), "Content-Type": "application/x-www-form-urlencoded"}
    async with slack.http.post(slack.url, data=body.encode(), headers=headers) as response:
        return response.status, await response.text()


async def _open_form(
    slack: SlackHarness, *, user: str = "UADMIN", team: str = TEAM, key: str = "form"
) -> int:
    """Send `/episodes admin season add` (no arguments); return the HTTP status (the ack)."""
    body = slack.command_body("admin season add", user=user, team=team, key=key)
    status, text = await _post_form(slack, body)
    assert text == ""  # the ack is empty: the modal (or the refusal) follows
    return status


def _values(
    *,
    show: str | None = FAM,
    number: str | None = "4",
    premiere: str | None = "2023-11-10",
    episodes: str | None = "10",
    cadence: str | None = "friday",
    time: str | None = None,
    tz: str | None = None,
    trailer: str | None = TRAILER,
) -> dict[str, Any]:
    """A view's state.values in the shapes Slack documents for each element type."""

    def option(value: str | None) -> dict[str, Any] | None:
        if value is None:
            return None
        return {"text": {"type": "plain_text", "text": value}, "value": value}

    values: dict[str, Any] = {
        modal.SHOW: {modal.SHOW_ACTION: {"type": "static_select", "selected_option": option(show)}},
        modal.NUMBER: {"value": {"type": "number_input", "value": number}},
        modal.PREMIERE: {"value": {"type": "datepicker", "selected_date": premiere}},
        modal.EPISODES: {"value": {"type": "number_input", "value": episodes}},
        modal.CADENCE: {"value": {"type": "static_select", "selected_option": option(cadence)}},
        modal.PREMIERE_EPISODES: {"value": {"type": "number_input", "value": None}},
        modal.TIME: {"value": {"type": "timepicker", "selected_time": time}},
        modal.TZ: {"value": {"type": "plain_text_input", "value": tz}},
        modal.TRAILER: {"value": {"type": "url_text_input", "value": trailer}},
    }
    return values


def _submission(
    values: dict[str, Any],
    *,
    user: str = "UADMIN",
    team: str = TEAM,
    metadata: dict[str, str] | None = None,
) -> str:
    meta = metadata if metadata is not None else {"channel": "C1", "team": team}
    payload = {
        "type": "view_submission",
        "team": {"id": team, "domain": "test"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
        "api_app_id": "A0APP",
        "token": "legacy-verification-token",
        "trigger_id": f"trigger.submit.{next(_SERIAL)}",
        "view": {
            "id": "V0001",
            "team_id": team,
            "type": "modal",
            "callback_id": modal.CALLBACK_ID,
            "private_metadata": json.dumps(meta),
            "blocks": [],
            "state": {"values": values},
            "hash": "1700000000.abc",
            "title": {"type": "plain_text", "text": "Add a season"},
            "app_id": "A0APP",
            "bot_id": "BBOT",
        },
        "response_urls": [],
        "enterprise": None,
        "is_enterprise_install": False,
    }
    return urlencode({"payload": json.dumps(payload)})


async def _submit(slack: SlackHarness, values: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    status, text = await _post_form(slack, _submission(values, **kwargs))
    assert status == 200
    return json.loads(text) if text else {}


def _seasons(slack: SlackHarness) -> list[tuple[str, int, str, int]]:
    store = slack.store
    return [
        (show.title, s.number, s.premiere.isoformat(), s.episode_count)
        for show in store.visible_shows(None)
        for s in store.seasons_of(show.id)
    ]


def _blocks_by_id(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {block["block_id"]: block for block in view["blocks"]}


# ------------------------------------------------------------------ opening the modal


async def test_admin_opens_the_modal(slack: SlackHarness) -> None:
    await slack.slash(ADD_SHOW, user="UADMIN")
    assert await _open_form(slack) == 200
    await slack.api.wait_for_calls("views.open")
    [request] = slack.api.requests_for("views.open")
    assert request.args["trigger_id"] == "trigger.form"
    view = request.json_body["view"]  # what slack_sdk put on the wire
    assert view["type"] == "modal" and view["callback_id"] == "episodes_season_add"
    assert json.loads(view["private_metadata"]) == {"channel": "C1", "team": TEAM}
    blocks = _blocks_by_id(view)
    assert list(blocks) == [
        "show",
        "number",
        "premiere",
        "episodes",
        "cadence",
        "premiere_episodes",
        "time",
        "tz",
        "trailer",
        "title",
    ]
    show = blocks["show"]["element"]
    assert show["type"] == "static_select"
    assert [o["value"] for o in show["options"]] == [FAM]
    assert blocks["number"]["element"]["type"] == "number_input"
    assert blocks["premiere"]["element"]["type"] == "datepicker"
    episodes = blocks["episodes"]["element"]
    assert episodes["type"] == "number_input"
    assert (episodes["min_value"], episodes["max_value"]) == ("1", "500")
    cadence = blocks["cadence"]["element"]
    assert [o["value"] for o in cadence["options"]] == [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "all_at_once",
    ]
    assert blocks["time"]["element"]["type"] == "timepicker" and blocks["time"]["optional"]
    assert blocks["tz"]["element"]["type"] == "plain_text_input" and blocks["tz"]["optional"]
    assert blocks["trailer"]["element"]["type"] == "url_text_input"
    assert blocks["trailer"]["optional"]
    assert not any(blocks[b]["optional"] for b in ("show", "number", "premiere", "episodes"))
    assert [r["_key"] for r in slack.api.responses] == ["1"]  # the show add; none for the form


async def test_non_admin_is_refused_and_no_modal_opens(slack: SlackHarness) -> None:
    await slack.slash(ADD_SHOW, user="UADMIN")
    answer = await slack.slash("admin season add", user="UMEMBER")
    assert "Only workspace admins and owners" in answer["text"]
    assert answer["response_type"] == "ephemeral"
    assert slack.api.calls["views.open"] == 0


async def test_no_shows_yet_says_how_to_add_one(slack: SlackHarness) -> None:
    answer = await slack.slash("admin season add", user="UADMIN")
    assert "no shows" in answer["text"] and "admin show add" in answer["text"]
    assert slack.api.calls["views.open"] == 0


async def test_a_refused_views_open_is_reported_with_the_typed_usage(
    slack: SlackHarness,
) -> None:
    await slack.slash(ADD_SHOW, user="UADMIN")
    slack.api.fault("views.open", error="expired_trigger_id")
    answer = await slack.slash("admin season add", user="UADMIN")
    assert "expired_trigger_id" in answer["text"]
    assert "/episodes admin season add SHOW NUMBER --premiere" in answer["text"]


async def test_many_shows_use_an_external_select_fed_by_block_suggestion(
    slack: SlackHarness,
) -> None:
    admin = Actor("slack", TEAM, "UADMIN", is_admin=True)
    slack.commands.show_add(admin, FAM, tz="America/New_York")
    for n in range(modal.STATIC_LIMIT):
        slack.commands.show_add(admin, f"Show {n:03d}")
    assert await _open_form(slack) == 200
    await slack.api.wait_for_calls("views.open")
    view = slack.api.requests_for("views.open")[0].json_body["view"]
    picker = _blocks_by_id(view)["show"]["element"]
    assert picker["type"] == "external_select" and "options" not in picker

    payload = {
        "type": "block_suggestion",
        "user": {"id": "UADMIN", "team_id": TEAM},
        "team": {"id": TEAM, "domain": "test"},
        "api_app_id": "A0APP",
        "token": "legacy-verification-token",
        "container": {"type": "view", "view_id": "V0001"},
        "action_id": modal.SHOW_ACTION,
        "block_id": modal.SHOW,
        "value": "mankind",
        "view": {"id": "V0001", "callback_id": modal.CALLBACK_ID, "type": "modal"},
        "is_enterprise_install": False,
        "enterprise": None,
    }
    status, text = await _post_form(slack, urlencode({"payload": json.dumps(payload)}))
    assert status == 200
    assert [o["value"] for o in json.loads(text)["options"]] == [FAM]

    # another workspace searching the same words is refused: this bot serves one workspace
    payload["team"] = {"id": "T0002", "domain": "other"}
    payload["user"] = {"id": "UOTHER", "team_id": "T0002"}
    status, text = await _post_form(slack, urlencode({"payload": json.dumps(payload)}))
    assert status == 403 and FAM not in text


# ------------------------------------------------------------------ submitting it


async def test_valid_submission_adds_fam_s4(slack: SlackHarness) -> None:
    await slack.slash(ADD_SHOW, user="UADMIN")
    answer = await _submit(slack, _values())
    assert answer == {"response_action": "clear"}
    assert _seasons(slack) == [(FAM, 4, "2023-11-10", 10)]

    admin = Actor("slack", TEAM, "UADMIN", is_admin=True)
    episodes = slack.commands.schedule(admin, FAM).data["episodes"]
    local = [
        datetime.fromisoformat(e["airstamp"].replace("Z", "+00:00"))
        .astimezone(UTC)
        .astimezone(ZoneInfo("America/New_York"))
        for e in episodes
    ]
    assert len(local) == 10
    assert all(d.weekday() == 4 and (d.hour, d.minute) == (0, 0) for d in local)
    assert (local[0].date().isoformat(), local[-1].date().isoformat()) == (
        "2023-11-10",
        "2024-01-12",
    )
    assert slack.commands.trailer(admin, FAM).data == {"url": TRAILER}

    await slack.api.wait_for_calls("chat.postEphemeral")
    [told] = slack.api.ephemerals
    assert (told["channel"], told["user"]) == ("C1", "UADMIN")
    assert "Added For All Mankind season 4: 10 episodes" in told["text"]


async def test_optional_fields_reach_the_core(slack: SlackHarness) -> None:
    await slack.slash(ADD_SHOW, user="UADMIN")
    values = _values(number="5", cadence="all_at_once", time="21:30", tz="Europe/London")
    values[modal.PREMIERE_EPISODES]["value"]["value"] = "3"
    assert await _submit(slack, values) == {"response_action": "clear"}
    admin = Actor("slack", TEAM, "UADMIN", is_admin=True)
    episodes = slack.commands.schedule(admin, FAM, season=5).data["episodes"]
    assert {(e["airdate"], e["airtime"], e["timezone"]) for e in episodes} == {
        ("2023-11-10", "21:30", "Europe/London")
    }


async def test_the_season_title_reaches_the_core(slack: SlackHarness) -> None:
    await slack.slash(ADD_SHOW, user="UADMIN")
    values = _values()
    values[modal.TITLE] = {"value": {"type": "plain_text_input", "value": "Happy Valley"}}
    assert await _submit(slack, values) == {"response_action": "clear"}
    [show] = slack.store.visible_shows(None)
    assert slack.store.get_season(show.id, 4).title == "Happy Valley"
    values = _values(number="5")
    values[modal.TITLE] = {"value": {"type": "plain_text_input", "value": "x\u0007"}}
    answer = await _submit(slack, values)
    assert list(answer["errors"]) == [modal.TITLE], answer  # shown on its own field


async def test_invalid_submissions_show_errors_on_the_field_and_change_nothing(
    slack: SlackHarness,
) -> None:
    await slack.slash(ADD_SHOW, user="UADMIN")
    assert await _submit(slack, _values()) == {"response_action": "clear"}
    await slack.api.wait_for_calls("chat.postEphemeral")
    before = _seasons(slack)
    cases = [
        (_values(number="5", episodes="0"), "episodes", "from 1 to 500"),
        (_values(number="5", episodes="501"), "episodes", "from 1 to 500"),
        (_values(number="5", tz="Mars/Olympus"), "tz", "Mars/Olympus"),
        (_values(number="5", show="Severance"), "show", 'No show called "Severance"'),
        (_values(number="5", show=None), "show", "Which show?"),
        (_values(number="5", premiere=None), "premiere", "not a date"),
        (_values(number="5", premiere="2025-02-30"), "premiere", "not a day"),
        (_values(number="0"), "number", "season number"),
        (_values(number="4"), "number", "already has a season 4"),
        (_values(number="5", cadence="someday"), "cadence", "not a day of the week"),
        (_values(number="5", time="25:00"), "time", "not a time of day"),
        (_values(number="5", trailer="javascript:alert(1)"), "trailer", "not a web link"),
    ]
    for values, block, expected in cases:
        answer = await _submit(slack, values)
        assert answer["response_action"] == "errors", (block, answer)
        assert list(answer["errors"]) == [block], (block, answer)
        assert expected in answer["errors"][block], (block, answer)
    assert _seasons(slack) == before
    assert slack.api.calls["chat.postEphemeral"] == 1  # only the valid submission's answer


async def test_a_non_admin_submission_is_refused(slack: SlackHarness) -> None:
    await slack.slash(ADD_SHOW, user="UADMIN")
    answer = await _submit(slack, _values(), user="UMEMBER")
    assert answer["response_action"] == "errors"
    assert "Only workspace admins and owners" in answer["errors"]["show"]
    assert _seasons(slack) == []
    assert slack.api.calls["chat.postEphemeral"] == 0


async def test_a_submission_cannot_act_on_another_workspace(slack: SlackHarness) -> None:
    await slack.slash(ADD_SHOW, user="UADMIN")  # private to T0001
    slack.api.add_user("UADMIN2", team_id="T0002", is_admin=True)

    # From another workspace, forged metadata or not: refused before the form is read.
    forged = {"channel": "C1", "team": TEAM}
    for metadata in (forged, None):
        kwargs = {"metadata": metadata} if metadata else {}
        body = _submission(_values(), user="UADMIN2", team="T0002", **kwargs)
        status, _text = await _post_form(slack, body)
        assert status == 403

    assert _seasons(slack) == []
    assert slack.api.calls["chat.postEphemeral"] == 0


async def test_the_answer_falls_back_to_a_dm_when_the_bot_is_not_in_the_channel(
    slack: SlackHarness,
) -> None:
    await slack.slash(ADD_SHOW, user="UADMIN")
    meta = {"channel": "CNOTIN", "team": TEAM}
    assert await _submit(slack, _values(), metadata=meta) == {"response_action": "clear"}
    await slack.api.wait_for_calls("chat.postMessage")
    assert slack.api.ephemerals == []
    [dm] = slack.api.messages_in("UADMIN")
    assert "Added For All Mankind season 4" in dm["text"]


async def test_show_titles_are_escaped_in_errors_and_answers(slack: SlackHarness) -> None:
    answer = await _submit(slack, _values(show="<!channel> news"))
    assert "<!channel>" not in answer["errors"]["show"]
    assert "&lt;!channel&gt;" in answer["errors"]["show"]


# ------------------------------------------------------------------ the pieces


def test_only_the_bare_command_opens_the_form() -> None:
    from adapters.slack import grammar

    assert grammar.opens_season_form("admin season add")
    assert grammar.opens_season_form("  Admin  SEASON add ")
    assert not grammar.opens_season_form('admin season add "For All Mankind"')
    assert not grammar.opens_season_form("admin season move")
    assert not grammar.opens_season_form('admin season add "unclosed')


def test_malformed_state_reaches_the_core_as_empty_values() -> None:
    for view in ({}, {"state": None}, {"state": {"values": {"show": "x", "number": []}}}):
        assert modal.form_args(view) == {"show": "", "number": "", "premiere": "", "episodes": ""}
    assert modal.metadata_of({"private_metadata": "not json"}) == {}
    assert modal.metadata_of({"private_metadata": '{"team": 1, "channel": "C1"}'}) == {
        "channel": "C1"
    }
