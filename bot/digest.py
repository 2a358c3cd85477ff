"""Weekly digests: one "this week" post per channel, besides or instead of one per drop.

Pure functions, no I/O: when a digest falls due, its key, and what it says. The agenda
(bot/agenda.py) reads the drops from the store and plans the posts like any other, so
digests share the outbox and its once-only delivery: key `digest:<channel>:<ISO week>`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from bot.compose import drop_kind, episode_label
from bot.errors import InvalidInput
from bot.keys import NotificationKey
from bot.messages import Message, MessageEntry, MessageKind
from bot.models import WEEKDAYS, Digest
from bot.plan import Drop
from bot.schedule import load_zone, resolve_local
from bot.validation import parse_time, parse_weekday

# A digest lists the drops of the seven days that follow it.
DIGEST_SPAN = timedelta(days=7)
# Lines per post. Discord allows 4,096 characters of embed description (6,000 in all) and
# Slack 50 blocks per message; a line is at most ~170 characters (a 100-character title, the
# episode label, the reader's-local-time token), so 20 lines fit both with room to spare.
ENTRIES_PER_POST = 20


def parse_when(text: str) -> tuple[int, time]:
    """ "monday 09:00" -> (0, 09:00): the weekday and local time of a weekly digest."""
    parts = (text or "").split()
    if len(parts) != 2 or not re.fullmatch(r"[A-Za-z]+", parts[0]):
        raise InvalidInput(
            "when",
            f"{(text or '')[:40]!r} is not a weekly time.",
            hint='Write a weekday and a time, e.g. "monday 09:00".',
        )
    return parse_weekday(parts[0]), parse_time(parts[1])


def describe(digest: Digest) -> str:
    return f"{WEEKDAYS[digest.weekday].capitalize()}s at {digest.at:%H:%M} {digest.timezone}"


def instants_between(digest: Digest, start: datetime, end: datetime) -> list[datetime]:
    """The digest's instants (UTC) in (start, end]: the weekday and time stay local, so the
    UTC instant moves with daylight saving."""
    zone = load_zone(digest.timezone)
    first = start.astimezone(zone).date() - timedelta(days=1)
    day = first + timedelta(days=(digest.weekday - first.weekday()) % 7)
    found = []
    while True:
        instant = resolve_local(day, digest.at, zone)
        if instant > end:
            return found
        if instant > start:
            found.append(instant)
        day += timedelta(days=7)


def next_instant(digest: Digest, after: datetime) -> datetime:
    return instants_between(digest, after, after + timedelta(days=8))[0]


def week_of(digest: Digest, instant: datetime) -> str:
    """The ISO week (e.g. 2023-W45) of the digest's local date: the key's last part."""
    year, week, _ = instant.astimezone(load_zone(digest.timezone)).date().isocalendar()
    return f"{year}-W{week:02d}"


def notification_keys(digest: Digest, instant: datetime, parts: int) -> list[NotificationKey]:
    """`digest:<channel>:<ISO week>` and, for a week too long for one post, `...:2` etc."""
    week = week_of(digest, instant)
    return [NotificationKey.digest(str(digest.channel), week, n) for n in range(1, parts + 1)]


def compose_digest(digest: Digest, instant: datetime, week: Sequence[Drop]) -> list[Message]:
    """The posts of one digest: every drop in [instant, instant + 7 days), in order, premieres
    and finales marked, split into posts of `ENTRIES_PER_POST` lines. Nothing: no post."""
    ordered = sorted(week, key=lambda drop: (drop.release_at, drop.show.title, drop.season.number))
    entries = [_entry(drop) for drop in ordered]
    chunks = [entries[i : i + ENTRIES_PER_POST] for i in range(0, len(entries), ENTRIES_PER_POST)]
    zone = load_zone(digest.timezone)
    first: date = instant.astimezone(zone).date()
    last = first + DIGEST_SPAN - timedelta(days=1)
    count = f"{len(entries)} drop" + ("s" if len(entries) != 1 else "")
    messages = []
    for number, chunk in enumerate(chunks, start=1):
        part = f" ({number}/{len(chunks)})" if len(chunks) > 1 else ""
        messages.append(
            Message(
                kind=MessageKind.DIGEST,
                title=f"This week: {count}{part}",
                text=f"{first:%a %d %b} to {last:%a %d %b %Y}",
                show_title="",
                season_number=0,
                release_at=None,
                timezone=digest.timezone,
                entries=tuple(chunk),
            )
        )
    return messages


def _entry(drop: Drop) -> MessageEntry:
    kind = drop_kind(drop.season, drop.episodes)
    mark = {MessageKind.PREMIERE: "premiere", MessageKind.FINALE: "finale"}.get(kind)
    if kind == MessageKind.PREMIERE and drop.season.episode_count in {
        e.number for e in drop.episodes
    }:
        mark = "premiere and finale"  # a whole season at once
    label = episode_label(drop.season, drop.episodes)
    return MessageEntry(at=drop.release_at, text=f"{drop.show.title} {label}", mark=mark)
