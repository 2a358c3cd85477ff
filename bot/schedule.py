"""Release dates, release instants and reminder offsets: pure functions, no I/O.

Why this module exists: every front end (CLI, console, Discord, Slack) and the delivery
engine must agree on *when* an episode drops, so the arithmetic lives in one place.

Wall-clock rule. A season's release time is a wall-clock time in an IANA zone
("Friday 00:00 America/New_York"), and it stays that wall-clock time across DST changes:
the UTC offset changes, the local time does not. Two local times need a rule, and it is
the one PEP 495 gives for ``fold=0``:

- A nonexistent local time (inside a spring-forward gap) is pushed forward by the length
  of the gap: 02:30 on 2024-03-10 in America/New_York becomes 03:30 EDT (07:30 UTC);
  02:15 on a Lord Howe spring-forward day (a 30-minute gap) becomes 02:45.
- An ambiguous local time (inside a fall-back fold, when the clock shows it twice) takes
  the FIRST occurrence, the earlier instant: 01:30 on 2024-11-03 in America/New_York is
  01:30 EDT (05:30 UTC), not 01:30 EST.

Neither case raises: a drop must always have an instant, and these rules are the ones
users of calendars expect (the drop never happens before the wall clock says so, and
never an hour late when the clock shows the time twice).
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from bot.errors import InvalidInput
from bot.models import WEEKDAYS, Cadence

MAX_EPISODES = 500

# Reminder offsets ("--before 1d,1h").
MIN_OFFSET = 5 * 60
MAX_OFFSET = 28 * 86400
MAX_OFFSETS = 5
_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}
_OFFSET_RE = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")
_OFFSET_HINT = "Write offsets like 1d,1h (units: w, d, h, m)."
_MAX_OFFSET_TEXT = 200

# What an IANA zone name may look like: "Europe/London", "America/Argentina/Buenos_Aires",
# "Etc/GMT+5", "UTC". Anything else (absolute paths, "..", backslashes) is refused before
# it gets near the zoneinfo loader, which reads files named after it.
_ZONE_NAME_RE = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*")
_ZONE_HINT = "Use an IANA name such as Europe/London or America/New_York."


# --- time zones -----------------------------------------------------------------------


@functools.cache
def _available_zones() -> frozenset[str]:
    """The IANA names this machine knows (system tzdata plus the tzdata package).

    Cached: `zoneinfo.available_timezones()` walks the filesystem on every call.
    """
    return frozenset(zoneinfo.available_timezones())


@functools.cache
def _zones_by_lower() -> dict[str, str]:
    """Lower-cased name -> canonical name, for case-insensitive matching and suggestions."""
    return {name.lower(): name for name in sorted(_available_zones())}


def _zone_suggestions(name: str, limit: int = 3) -> list[str]:
    """Close IANA names for a mistyped one: fuzzy matches, then same-city matches."""
    by_lower = _zones_by_lower()
    lowered = name.lower()
    found = [by_lower[m] for m in difflib.get_close_matches(lowered, by_lower, n=limit)]
    # "london" or "new york" alone: suggest the zones whose last part is that city.
    city = lowered.replace(" ", "_").rsplit("/", 1)[-1]
    for key, canonical in by_lower.items():
        if key.rsplit("/", 1)[-1] == city and canonical not in found:
            found.append(canonical)
    return found[:limit]


def load_zone(name: str) -> ZoneInfo:
    """The IANA zone called `name`, or `InvalidInput("timezone")` saying how to mend it.

    Why not plain `ZoneInfo(name)`: its errors are unfriendly, it accepts file-system
    paths, and users type "europe/london" or "Europe/Londn". A case-insensitive exact
    match is accepted (and the canonical zone returned); a near miss gets suggestions.
    """
    text = (name or "").strip()
    if not text:
        raise InvalidInput("timezone", "The timezone is empty.", hint=_ZONE_HINT)
    shown = repr(text[:80])
    if len(text) > 100 or not _ZONE_NAME_RE.fullmatch(text):
        raise InvalidInput("timezone", f"{shown} is not a timezone name.", hint=_ZONE_HINT)
    canonical = text if text in _available_zones() else _zones_by_lower().get(text.lower())
    if canonical is not None:
        try:
            return ZoneInfo(canonical)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass  # listed but unreadable: report it as unknown below
    suggestions = _zone_suggestions(text)
    hint = "Did you mean: " + ", ".join(suggestions) + "?" if suggestions else _ZONE_HINT
    raise InvalidInput("timezone", f"Unknown timezone {shown}.", hint=hint)


# --- instants -------------------------------------------------------------------------


def _naive_time(local_time: time) -> time:
    """The wall-clock part of `local_time`; an aware time would be a second, rival zone."""
    if local_time.tzinfo is not None:
        raise InvalidInput(
            "time",
            "The release time must be a wall-clock time without a UTC offset.",
            hint="Give the time as HH:MM and the zone separately.",
        )
    return local_time.replace(fold=0)


def resolve_local(local_date: date, local_time: time, zone: ZoneInfo) -> datetime:
    """The UTC instant at which the wall clock in `zone` shows `local_date` `local_time`.

    Gap and fold follow the module's rule (PEP 495 ``fold=0``): a nonexistent time is
    pushed forward by the gap, an ambiguous one takes its first occurrence. Any `fold`
    on `local_time` is ignored so that the rule holds whatever the caller passed.
    """
    local = datetime.combine(local_date, _naive_time(local_time), tzinfo=zone)
    return local.astimezone(UTC)


def _check_counts(episode_count: int, premiere_episodes: int) -> None:
    if not 1 <= episode_count <= MAX_EPISODES:
        raise InvalidInput(
            "episodes",
            f"A season has 1 to {MAX_EPISODES} episodes, not {episode_count}.",
        )
    if not 1 <= premiere_episodes <= episode_count:
        raise InvalidInput(
            "premiere_episodes",
            f"{premiere_episodes} episodes at the premiere is not possible for a season "
            f"of {episode_count}.",
            hint=f"Choose from 1 to {episode_count}.",
        )


def _weekly_dates(
    premiere: date, episode_count: int, weekday: int | None, premiere_episodes: int
) -> list[date]:
    if weekday is None or not 0 <= weekday <= 6:
        raise InvalidInput(
            "cadence",
            "A weekly season needs a weekday.",
            hint="Choose one of " + ", ".join(WEEKDAYS) + ".",
        )
    # The first weekly drop is the first `weekday` strictly after the premiere: a Friday
    # premiere of a Friday show drops its next episode a week later, not the same day.
    first_drop = premiere + timedelta(days=(weekday - premiere.weekday() - 1) % 7 + 1)
    later = episode_count - premiere_episodes
    return [premiere] * premiere_episodes + [first_drop + timedelta(weeks=k) for k in range(later)]


def _explicit_dates(premiere: date, episode_count: int, dates: tuple[date, ...]) -> list[date]:
    hint = "Give one date per episode, in order, the first being the premiere."
    if len(dates) != episode_count:
        raise InvalidInput(
            "dates",
            f"{len(dates)} dates were given for {episode_count} episodes.",
            hint=hint,
        )
    if dates[0] != premiere:
        raise InvalidInput(
            "dates",
            f"The first date {dates[0].isoformat()} is not the premiere {premiere.isoformat()}.",
            hint=hint,
        )
    for number, (before, after) in enumerate(pairwise(dates), start=2):
        if after < before:
            raise InvalidInput(
                "dates",
                f"Episode {number} ({after.isoformat()}) is dated before episode "
                f"{number - 1} ({before.isoformat()}).",
                hint=hint,
            )
    return list(dates)


def episode_dates(
    premiere: date, episode_count: int, cadence: Cadence, premiere_episodes: int = 1
) -> list[date]:
    """The local release date of every episode, in episode order.

    - weekly: the first `premiere_episodes` episodes on the premiere, then one a week on
      `cadence.weekday` (0=Monday), starting on the first such weekday strictly after
      the premiere (so a premiere on another weekday still lines up with the cadence).
    - all_at_once: every episode on the premiere.
    - dates: `cadence.dates` as is, after checking there is one per episode, they never
      go backwards and the first is the premiere.

    `premiere_episodes` must lie in 1..episode_count (it is not clamped: a wrong number is
    a typo the admin should see); only the weekly cadence uses it.
    """
    _check_counts(episode_count, premiere_episodes)
    try:
        if cadence.kind == "weekly":
            return _weekly_dates(premiere, episode_count, cadence.weekday, premiere_episodes)
    except OverflowError:
        raise InvalidInput("premiere", "The season would run past the year 9999.") from None
    if cadence.kind == "all_at_once":
        return [premiere] * episode_count
    if cadence.kind == "dates":
        return _explicit_dates(premiere, episode_count, tuple(cadence.dates))
    raise InvalidInput(
        "cadence",
        f"Unknown cadence {cadence.kind!r}.",
        hint="Use weekly on a weekday, all at once, or explicit dates.",
    )


def release_instants(
    premiere: date,
    episode_count: int,
    cadence: Cadence,
    premiere_episodes: int,
    release_time: time,
    zone: ZoneInfo,
) -> list[datetime]:
    """The UTC release instant of every episode: `episode_dates` at `release_time` in `zone`.

    The wall clock is kept across DST: 00:00 America/New_York is 05:00 UTC in winter and
    04:00 UTC in summer. Gaps and folds follow the module's rule.
    """
    release_time = _naive_time(release_time)
    dates = episode_dates(premiere, episode_count, cadence, premiere_episodes)
    return [resolve_local(day, release_time, zone) for day in dates]


def shift_dates(dates: list[date], old_premiere: date, new_premiere: date) -> list[date]:
    """Every date moved by (new_premiere - old_premiere) days, for "season move".

    Dates move, not instants: an episode at 00:00 local stays at 00:00 local even when
    the move carries it across a DST change (recompute instants with `resolve_local`).
    """
    delta = new_premiere - old_premiere
    try:
        return [day + delta for day in dates]
    except OverflowError:
        raise InvalidInput("premiere", "The season would move past the year 9999.") from None


# --- reminder offsets -----------------------------------------------------------------


def _offset_error(message: str) -> InvalidInput:
    return InvalidInput("before", message, hint=_OFFSET_HINT)


def parse_durations(text: str | None) -> tuple[int, ...]:
    """Reminder offsets such as "1d,1h" as seconds, largest first, without duplicates.

    Each offset is one or more integer amounts with a unit, largest unit first ("2h",
    "1h30m"; units w, d, h, m); offsets are separated by commas. Each lies between 5
    minutes (shorter is no reminder) and 28 days, and there are at most 5 (more would
    spam a channel). Empty text means no reminders.
    """
    if text is None:
        return ()
    text = text.strip().lower()
    if not text:
        return ()
    if len(text) > _MAX_OFFSET_TEXT:
        raise _offset_error("That list of reminder offsets is too long.")
    offsets: set[int] = set()
    for raw in text.split(","):
        token = raw.strip()
        if not token:
            continue
        match = _OFFSET_RE.fullmatch(token)
        if match is None or not any(match.groups()):
            raise _offset_error(f"{token[:40]!r} is not a reminder offset.")
        seconds = sum(
            int(amount) * _UNITS[unit]
            for amount, unit in zip(match.groups(), "wdhm", strict=True)
            if amount is not None
        )
        if not MIN_OFFSET <= seconds <= MAX_OFFSET:
            raise _offset_error(
                f"{token!r} is out of range: reminders go from 5m to 28d before a drop."
            )
        offsets.add(seconds)
    if len(offsets) > MAX_OFFSETS:
        raise _offset_error(f"{len(offsets)} reminders is too many: at most {MAX_OFFSETS}.")
    return tuple(sorted(offsets, reverse=True))


def format_duration(seconds: int) -> str:
    """`seconds` written the way `parse_durations` reads it: 86400 -> "1d", 5400 -> "1h30m".

    Used for display and for notification keys (`episode:<id>:before:1h`), so the text is
    canonical: largest units first, zero parts left out. Leftover seconds (never produced
    by `parse_durations`) are shown as "s" rather than lost.
    """
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {seconds}")
    if seconds == 0:
        return "0m"
    parts = []
    rest = seconds
    for unit, size in [*_UNITS.items(), ("s", 1)]:
        amount, rest = divmod(rest, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)
