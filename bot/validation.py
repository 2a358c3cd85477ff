"""One validation layer for every front end: CLI, console, Discord and Slack.

Each function takes what a user typed (a string, or an int from a typed option) and returns
a clean value or raises `InvalidInput` with a message that says what was wrong and how to
mend it. Nothing here touches the database.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, time
from urllib.parse import urlsplit

from bot.errors import InvalidInput
from bot.models import WEEKDAYS

MAX_TITLE = 100
MAX_NETWORK = 60
MAX_EPISODE_TITLE = 200
MAX_URL = 2000
MAX_EPISODES = 500
MAX_SEASON = 1000
MAX_MENTION_ID = 64


def clean_text(value: str | None, field: str, *, max_length: int, required: bool = True) -> str:
    """Trim, collapse inner whitespace and refuse control characters and oversized text.

    Mention syntax (`@everyone`, `<!channel>`, `<@&123>`) is *kept*: a show may really be
    called that, and every renderer escapes user text so it can never ping anyone.
    """
    text = " ".join((value or "").split())
    if not text:
        if required:
            raise InvalidInput(field, f"The {field} is empty.", hint=f"Give a {field}.")
        return ""
    if any(unicodedata.category(char).startswith("C") for char in text):
        raise InvalidInput(
            field, f"The {field} contains control characters.", hint="Use plain text."
        )
    if len(text) > max_length:
        raise InvalidInput(
            field,
            f"The {field} is {len(text)} characters long.",
            hint=f"Keep it to {max_length} characters or fewer.",
        )
    return text


def parse_title(value: str | None) -> str:
    return clean_text(value, "title", max_length=MAX_TITLE)


def parse_network(value: str | None) -> str | None:
    return clean_text(value, "network", max_length=MAX_NETWORK, required=False) or None


def parse_episode_title(value: str | None) -> str | None:
    return clean_text(value, "episode title", max_length=MAX_EPISODE_TITLE, required=False) or None


def parse_season_title(value: str | None) -> str | None:
    # As long as a show's title: the catalogue (Discord's max_length) holds it to the same.
    return clean_text(value, "season title", max_length=MAX_TITLE, required=False) or None


def parse_date(value: str | date | None, field: str = "date") -> date:
    if isinstance(value, date):
        return value
    text = (value or "").strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise InvalidInput(
            field,
            f"{text[:40]!r} is not a date.",
            hint="Write dates as YYYY-MM-DD, e.g. 2023-11-10.",
        )
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            field,
            f"{text} is not a day on the calendar.",
            hint="Check the month and the day, e.g. 2023-11-10.",
        ) from None
    if not 1900 <= parsed.year <= 2200:
        raise InvalidInput(field, f"{text} is too far away.", hint="Use a year from 1900 to 2200.")
    return parsed


def parse_time(value: str | time | None, field: str = "time") -> time:
    if isinstance(value, time):
        return value
    text = (value or "").strip()
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise InvalidInput(
            field,
            f"{text[:40]!r} is not a time of day.",
            hint="Write times as 24-hour HH:MM, e.g. 21:00.",
        )
    return time(int(match[1]), int(match[2]))


def parse_int(value: int | str | None, field: str, *, minimum: int, maximum: int) -> int:
    if isinstance(value, bool):  # bool is an int; never a count
        value = str(value)
    try:
        number = value if isinstance(value, int) else int(str(value).strip())
    except ValueError:
        raise InvalidInput(
            field,
            f"The {field} {str(value)[:40]!r} is not a whole number.",
            hint=f"Give a number from {minimum} to {maximum}.",
        ) from None
    if not minimum <= number <= maximum:
        raise InvalidInput(
            field,
            f"The {field} must be from {minimum} to {maximum}; got {number}.",
            hint=f"Give a number from {minimum} to {maximum}.",
        )
    return number


def parse_episode_count(value: int | str | None) -> int:
    return parse_int(value, "episode count", minimum=1, maximum=MAX_EPISODES)


def parse_season_number(value: int | str | None) -> int:
    return parse_int(value, "season number", minimum=1, maximum=MAX_SEASON)


def parse_episode_number(value: int | str | None) -> int:
    return parse_int(value, "episode number", minimum=1, maximum=MAX_EPISODES)


def parse_weekday(value: str) -> int:
    """ "friday", "Fri", "fridays" -> 4 (Monday is 0, as in `date.weekday()`)."""
    text = (value or "").strip().lower().rstrip("s")
    for number, name in enumerate(WEEKDAYS):
        if len(text) >= 3 and name.startswith(text):
            return number
    raise InvalidInput(
        "weekday",
        f"{value[:40]!r} is not a day of the week.",
        hint="Use monday, tuesday, wednesday, thursday, friday, saturday or sunday.",
    )


def parse_url(value: str | None, field: str = "trailer URL") -> str:
    text = (value or "").strip()
    parts = urlsplit(text)
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.netloc
        or any(char.isspace() or unicodedata.category(char).startswith("C") for char in text)
    ):
        raise InvalidInput(
            field,
            f"{text[:80]!r} is not a web link.",
            hint="Give a full http:// or https:// address, e.g. https://youtu.be/abc.",
        )
    if len(text) > MAX_URL:
        raise InvalidInput(
            field, "The link is too long.", hint=f"Keep it under {MAX_URL} characters."
        )
    return text


def parse_mention_id(value: str | None) -> str | None:
    """A role (Discord) or user group (Slack) id a subscription may ping; ids only."""
    text = (value or "").strip()
    if not text:
        return None
    if not re.fullmatch(rf"[A-Za-z0-9]{{1,{MAX_MENTION_ID}}}", text):
        raise InvalidInput(
            "mention",
            f"{text[:40]!r} is not a role or group id.",
            hint="Pick a role (Discord) or a user group id such as S0123ABC (Slack).",
        )
    return text
