"""The Block Kit modal for `admin season add` (`/episodes admin season add` with no arguments).

It only translates, like the rest of the adapter: `season_form` builds the view, `form_args`
turns a `view_submission`'s state back into the keyword arguments of `Commands.season_add`
(which validates everything, exactly as for the typed command), and `error_block` says which
input a `BotError` concerns so Slack can show it next to that field.

The show picker is a `static_select` of the shows the workspace can see when there are at
most 100 of them (Slack's limit for static options; no extra round trip, nothing to
configure), otherwise an `external_select` whose options come from `block_suggestion`
requests answered by `Commands.complete_show_titles`.

`private_metadata` carries only where to answer (the channel the command was typed in and
the team it was typed for, as JSON). It is not trusted for anything else: the tenant of a
submission always comes from the payload's team/enterprise, and a submission whose metadata
names another team is refused.
"""

from __future__ import annotations

import json
from typing import Any

from bot.catalogue import SEASON_ADD
from bot.errors import AlreadyExists, BotError, InvalidInput
from bot.models import WEEKDAYS

CALLBACK_ID = "episodes_season_add"
SHOW_ACTION = "episodes_show"  # the action_id of the show picker (also for block_suggestion)
VALUE_ACTION = "value"  # the action_id of every other input
STATIC_LIMIT = 100  # Slack allows at most 100 options in a static_select
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150
METADATA_LIMIT = 3000
ERROR_LIMIT = 2000

# block_ids, one per input; errors are keyed by these
SHOW = "show"
NUMBER = "number"
PREMIERE = "premiere"
EPISODES = "episodes"
CADENCE = "cadence"
PREMIERE_EPISODES = "premiere_episodes"
TIME = "time"
TZ = "tz"
TRAILER = "trailer"
TITLE = "title"

ALL_AT_ONCE = "all_at_once"

# The catalogue options of `season add` (bot/catalogue.py) each input fills; the cadence
# fills one of two. A test holds this to the catalogue: every option the chat offers has
# an input (explicit per-episode dates are a CLI option).
BLOCK_OPTIONS: dict[str, tuple[str, ...]] = {
    SHOW: ("show",),
    NUMBER: ("number",),
    PREMIERE: ("premiere",),
    EPISODES: ("episodes",),
    CADENCE: ("every", "all_at_once"),
    PREMIERE_EPISODES: ("premiere_episodes",),
    TIME: ("time",),
    TZ: ("tz",),
    TRAILER: ("trailer",),
    TITLE: ("title",),
}

# InvalidInput.field (as bot.validation / bot.schedule name them) -> the block it concerns
_FIELD_BLOCKS = {
    "show": SHOW,
    "title": SHOW,
    "season number": NUMBER,
    "number": NUMBER,
    "premiere": PREMIERE,
    "date": PREMIERE,
    "dates": PREMIERE,
    "episode count": EPISODES,
    "episodes": EPISODES,
    "premiere episodes": PREMIERE_EPISODES,
    "premiere_episodes": PREMIERE_EPISODES,
    "cadence": CADENCE,
    "weekday": CADENCE,
    "all_at_once": CADENCE,
    "time": TIME,
    "timezone": TZ,
    "tz": TZ,
    "trailer url": TRAILER,
    "trailer": TRAILER,
    "season title": TITLE,
}


def _text(text: str, limit: int = OPTION_TEXT_LIMIT) -> dict[str, Any]:
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return {"type": "plain_text", "text": text, "emoji": True}


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _text(label), "value": value}


def show_options(titles: list[str]) -> list[dict[str, Any]]:
    """Options for the show picker; a title too long for an option value is left out."""
    return [_option(t, t) for t in titles if t and len(t) <= OPTION_VALUE_LIMIT][:STATIC_LIMIT]


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": _text(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = _text(hint, 2000)
    return block


def season_form(titles: list[str], *, channel_id: str, team: str) -> dict[str, Any]:
    """The modal view. `titles`: the shows the workspace sees (more than 100: searched)."""
    if len(titles) <= STATIC_LIMIT:
        picker: dict[str, Any] = {
            "type": "static_select",
            "action_id": SHOW_ACTION,
            "placeholder": _text("Choose a show"),
            "options": show_options(titles),
        }
    else:
        picker = {
            "type": "external_select",
            "action_id": SHOW_ACTION,
            "placeholder": _text("Type to search the shows"),
            "min_query_length": 1,
        }
    cadence_options = [_option(f"Weekly on {day.capitalize()}", day) for day in WEEKDAYS]
    cadence_options.append(_option("All at once", ALL_AT_ONCE))
    metadata = json.dumps({"channel": channel_id, "team": team}, separators=(",", ":"))
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": _text("Add a season", 24),
        "submit": _text("Add season", 24),
        "close": _text("Cancel", 24),
        "private_metadata": metadata[:METADATA_LIMIT],
        "blocks": [
            _input(SHOW, "Show", picker),
            _input(
                NUMBER,
                "Season number",
                {
                    "type": "number_input",
                    "action_id": VALUE_ACTION,
                    "is_decimal_allowed": False,
                    "min_value": str(SEASON_ADD.option("number").min),
                    "max_value": str(SEASON_ADD.option("number").max),
                },
            ),
            _input(
                PREMIERE,
                "Premiere",
                {
                    "type": "datepicker",
                    "action_id": VALUE_ACTION,
                    "placeholder": _text("The first episode's date"),
                },
                hint="In the show's timezone (or the one given below).",
            ),
            _input(
                EPISODES,
                "Episodes",
                {
                    "type": "number_input",
                    "action_id": VALUE_ACTION,
                    "is_decimal_allowed": False,
                    "min_value": str(SEASON_ADD.option("episodes").min),
                    "max_value": str(SEASON_ADD.option("episodes").max),
                },
            ),
            _input(
                CADENCE,
                "Cadence",
                {
                    "type": "static_select",
                    "action_id": VALUE_ACTION,
                    "placeholder": _text("Weekly on the premiere's weekday"),
                    "options": cadence_options,
                },
                optional=True,
                hint="Left empty: weekly on the premiere's weekday.",
            ),
            _input(
                PREMIERE_EPISODES,
                "Episodes at the premiere",
                {
                    "type": "number_input",
                    "action_id": VALUE_ACTION,
                    "is_decimal_allowed": False,
                    "min_value": str(SEASON_ADD.option("premiere_episodes").min),
                    "max_value": str(SEASON_ADD.option("premiere_episodes").max),
                },
                optional=True,
                hint="Left empty: 1.",
            ),
            _input(
                TIME,
                "Release time",
                {
                    "type": "timepicker",
                    "action_id": VALUE_ACTION,
                    "placeholder": _text("The show's usual time"),
                },
                optional=True,
                hint="Left empty: the show's release time.",
            ),
            _input(
                TZ,
                "Timezone",
                {
                    "type": "plain_text_input",
                    "action_id": VALUE_ACTION,
                    "placeholder": _text("e.g. America/New_York"),
                    "max_length": 100,
                },
                optional=True,
                hint="An IANA name. Left empty: the show's timezone.",
            ),
            _input(
                TRAILER,
                "Trailer URL",
                {
                    "type": "url_text_input",
                    "action_id": VALUE_ACTION,
                    "placeholder": _text("https://…"),
                },
                optional=True,
            ),
            _input(
                TITLE,
                "Season title",
                {
                    "type": "plain_text_input",
                    "action_id": VALUE_ACTION,
                    "max_length": SEASON_ADD.option("title").max,
                },
                optional=True,
            ),
        ],
    }


def metadata_of(view: Any) -> dict[str, str]:
    """The view's private_metadata as {"channel", "team"}; anything malformed -> {}."""
    raw = view.get("private_metadata") if isinstance(view, dict) else None
    try:
        data = json.loads(raw) if isinstance(raw, str) and raw else {}
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: str(data[k]) for k in ("channel", "team") if isinstance(data.get(k), str)}


def _state(view: Any, block_id: str, action_id: str = VALUE_ACTION) -> dict[str, Any]:
    values = ((view or {}).get("state") or {}).get("values") or {}
    block = values.get(block_id) if isinstance(values, dict) else None
    action = block.get(action_id) if isinstance(block, dict) else None
    return action if isinstance(action, dict) else {}


def _str(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _selected(state: dict[str, Any]) -> str | None:
    option = state.get("selected_option")
    return _str(option.get("value")) if isinstance(option, dict) else None


def form_args(view: Any) -> dict[str, Any]:
    """A submitted view's state -> the values of `catalogue.SEASON_ADD` (its options' names).

    Missing required values are passed on empty so the core reports them with its own words.
    """
    args: dict[str, Any] = {
        "show": _selected(_state(view, SHOW, SHOW_ACTION)) or "",
        "number": _str(_state(view, NUMBER).get("value")) or "",
        "premiere": _str(_state(view, PREMIERE).get("selected_date")) or "",
        "episodes": _str(_state(view, EPISODES).get("value")) or "",
    }
    cadence = _selected(_state(view, CADENCE))
    if cadence == ALL_AT_ONCE:
        args["all_at_once"] = True
    elif cadence:
        args["every"] = cadence
    optional = {
        "premiere_episodes": _str(_state(view, PREMIERE_EPISODES).get("value")),
        "time": _str(_state(view, TIME).get("selected_time")),
        "tz": _str(_state(view, TZ).get("value")),
        "trailer": _str(_state(view, TRAILER).get("value")),
        "title": _str(_state(view, TITLE).get("value")),
    }
    args.update({k: v for k, v in optional.items() if v is not None})
    return args


def error_block(error: BotError) -> str:
    """The input a core error concerns (the show picker when no better one is known)."""
    if isinstance(error, InvalidInput):
        return _FIELD_BLOCKS.get(error.field.strip().lower(), SHOW)
    if isinstance(error, AlreadyExists):
        return NUMBER  # the show already has a season with this number
    return SHOW
