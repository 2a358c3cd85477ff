"""Notification keys: what one post is about, as a value built and parsed in this one place.

The pair (subscription, key) is unique in the outbox, which is what makes delivery
idempotent, so the text form is stable and stored as is:

    episode:<id>:release          a drop (the id of its first episode)
    episode:<id>:before:<offset>  a reminder, e.g. episode:7:before:1h (bot.schedule's format)
    season:<id>:announced         a season was added
    season:<id>:trailer[:<n>]     a trailer link was added (n counts later trailers)
    season:<id>:moved:<n>         the premiere moved (the n-th move)
    digest:<channel>:<ISO week>[:<n>]  a channel's weekly digest (n: its later parts)

Everything else (the planner, the store, the engine, the senders) reads the fields.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum

from bot.schedule import format_duration


class KeyKind(StrEnum):
    RELEASE = "release"
    REMINDER = "before"
    ANNOUNCED = "announced"
    TRAILER = "trailer"
    MOVED = "moved"
    DIGEST = "digest"


# Season events whose first occurrence has no number in its key (`season:4:trailer`);
# a move is always numbered (`season:4:moved:1`).
_UNNUMBERED_FIRST = frozenset({KeyKind.ANNOUNCED, KeyKind.TRAILER})
_EPISODE_RE = re.compile(r"episode:(\d+):(?:(release)|before:([0-9wdhms]+))")
_SEASON_RE = re.compile(r"season:(\d+):([a-z_]+)(?::(\d+))?")
_DIGEST_RE = re.compile(r"digest:(.+):([0-9]{4}-W[0-9]{2})(?::(\d+))?")
_DURATION_RE = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_DURATION_UNITS = (7 * 86400, 86400, 3600, 60, 1)


@dataclass(frozen=True)
class NotificationKey:
    """One notification's identity: its kind, the episode or season (or a digest's channel
    and week) it is about, and the reminder offset (seconds before the drop) or the
    sequence number (the n-th trailer or move, a digest's n-th part)."""

    kind: KeyKind | str  # a season event kind from a newer version stays a plain string
    episode_id: int | None = None
    season_id: int | None = None
    offset: int | None = None
    seq: int = 1
    channel: str | None = None  # digests: the channel, as written (`console:general`)
    week: str | None = None  # digests: the ISO week, e.g. 2023-W45

    def __post_init__(self) -> None:
        # Keys are compared, hashed and written by the hundred thousand in a drop: the text
        # is formed once. Not a field, so equality stays on the fields.
        object.__setattr__(self, "_text", self._format())

    # ------------------------------------------------------------------ builders

    # Cached: a drop to 100,000 channels plans one key per channel, and they are all equal.
    @classmethod
    @functools.lru_cache(maxsize=4096)
    def release(cls, episode_id: int) -> NotificationKey:
        return cls(KeyKind.RELEASE, episode_id=episode_id)

    @classmethod
    @functools.lru_cache(maxsize=4096)
    def reminder(cls, episode_id: int, offset: int) -> NotificationKey:
        return cls(KeyKind.REMINDER, episode_id=episode_id, offset=offset)

    @classmethod
    def season_event(cls, season_id: int, kind: str, seq: int = 1) -> NotificationKey:
        return cls(_kind(kind), season_id=season_id, seq=seq)

    @classmethod
    def digest(cls, channel: str, week: str, part: int = 1) -> NotificationKey:
        return cls(KeyKind.DIGEST, channel=channel, week=week, seq=part)

    @classmethod
    def parse(cls, text: str) -> NotificationKey:
        """The key whose text is `text`; ValueError if it is not one."""
        return _parse(text)

    # ------------------------------------------------------------------ reading

    @property
    def is_release(self) -> bool:
        return self.kind == KeyKind.RELEASE

    @property
    def is_reminder(self) -> bool:
        return self.kind == KeyKind.REMINDER

    @staticmethod
    def text_pattern(kind: KeyKind) -> str:
        """An SQL LIKE pattern matching the text of every key of `kind` (episode kinds)."""
        return {KeyKind.RELEASE: "%:release", KeyKind.REMINDER: "%:before:%"}[kind]

    def __str__(self) -> str:
        return self._text  # type: ignore[attr-defined]

    def __lt__(self, other: NotificationKey) -> bool:  # plans sort posts by key text
        return str(self) < str(other)

    def _format(self) -> str:
        if self.kind == KeyKind.RELEASE:
            return f"episode:{self.episode_id}:release"
        if self.kind == KeyKind.REMINDER:
            return f"episode:{self.episode_id}:before:{format_duration(self.offset or 0)}"
        if self.kind == KeyKind.DIGEST:
            base = f"digest:{self.channel}:{self.week}"
            return base if self.seq == 1 else f"{base}:{self.seq}"
        base = f"season:{self.season_id}:{self.kind}"
        if self.kind in _UNNUMBERED_FIRST and self.seq == 1:
            return base
        return f"{base}:{self.seq}"


def _kind(text: str) -> KeyKind | str:
    try:
        return KeyKind(text)
    except ValueError:
        return text


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> NotificationKey:
    # Cached: a drop's 100,000 outbox rows share a handful of keys.
    key: NotificationKey | None = None
    if match := _EPISODE_RE.fullmatch(text):
        episode_id = int(match[1])
        if match[2]:
            key = NotificationKey.release(episode_id)
        elif (offset := _parse_duration(match[3])) is not None:
            key = NotificationKey.reminder(episode_id, offset)
    elif (match := _SEASON_RE.fullmatch(text)) and match[2] not in ("release", "before"):
        key = NotificationKey.season_event(int(match[1]), match[2], int(match[3] or 1))
    elif match := _DIGEST_RE.fullmatch(text):
        key = NotificationKey.digest(match[1], match[2], int(match[3] or 1))
    # Only the canonical text is a key (`season:4:trailer:1`, `episode:1:before:90m` are not):
    # one key, one text, or (subscription, key) would stop being unique.
    if key is None or str(key) != text:
        raise ValueError(f"not a notification key: {text[:80]!r}")
    return key


def _parse_duration(text: str) -> int | None:
    match = _DURATION_RE.fullmatch(text)
    if match is None or not any(match.groups()):
        return None
    return sum(
        int(amount) * size
        for amount, size in zip(match.groups(), _DURATION_UNITS, strict=True)
        if amount is not None
    )
