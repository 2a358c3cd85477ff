"""Calendar feeds: which drops a channel (or a whole tenant) shows in a calendar app, and the
secret tokens that address them.

A feed is read by calendar apps without logging in, so its URL carries a secret: 192 random
bits (`secrets.token_urlsafe`), looked up by its SHA-256 and then compared in constant time.
Rotating issues a new token and the old one stops working at once.

Calendar apps keep an event by its UID and replace it when a copy with a higher SEQUENCE
arrives. So each drop keeps one UID for life (its first episode's id) and a revision that
goes up whenever what the feed says about it changes, however it changed (a season move, an
episode set by hand, a new trailer), rather than by hooking every path that edits episodes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import quote

from bot.clock import Clock
from bot.compose import drop_kind, episode_label
from bot.errors import InvalidInput
from bot.messages import MessageKind
from bot.models import ChannelRef, Show, Subscription
from bot.plan import drops
from bot.platforms import platform_names
from bot.store import Store

TOKEN_BYTES = 24  # 192 bits: guessing is not practical
# Tokens as `token_urlsafe` makes them; anything else is not looked up at all.
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
RECENT = timedelta(days=30)  # how far back a feed keeps drops that have happened
UID_DOMAIN = "episode-bot"
FEED_PATH = "/calendar/"

_TENANT_RE = re.compile(r"^(discord|slack):([A-Za-z0-9_.-]{1,64})$")


@dataclass(frozen=True)
class FeedScope:
    """What a feed covers: one channel, or every channel of a tenant (`channel` None)."""

    platform: str
    tenant: str
    channel: str | None = None

    @classmethod
    def parse(cls, text: str) -> FeedScope:
        """`discord:GUILD/CHANNEL`, `slack:TEAM/CHANNEL`, `console:NAME`, or a whole tenant:
        `discord:GUILD`, `slack:TEAM`."""
        cleaned = (text or "").strip()
        if match := _TENANT_RE.match(cleaned):
            return cls(match[1], match[2])
        try:
            channel = ChannelRef.parse(cleaned)
        except InvalidInput:
            raise InvalidInput(
                "channel",
                f"{cleaned[:80]!r} is neither a channel nor a server/workspace.",
                hint="Write discord:GUILD/CHANNEL, slack:TEAM/CHANNEL, console:NAME, "
                "or discord:GUILD / slack:TEAM for every channel of a server/workspace.",
            ) from None
        return cls.of_channel(channel)

    @classmethod
    def of_channel(cls, channel: ChannelRef) -> FeedScope:
        return cls(channel.platform, channel.tenant, channel.channel)

    @property
    def tenant_key(self) -> str:
        return f"{self.platform}:{self.tenant}"

    @property
    def key(self) -> str:
        """How the scope is stored and written: the channel, or `platform:tenant`."""
        if self.channel is None:
            return self.tenant_key
        return str(ChannelRef(self.platform, self.tenant, self.channel))

    def describe(self) -> str:
        if self.channel is None:
            return f"every channel of {self.tenant_key}"
        return self.key

    def subscriptions(self, store: Store) -> list[Subscription]:
        if self.channel is None:
            return store.subscriptions(tenant_key=self.tenant_key)
        return store.subscriptions(channel=ChannelRef(self.platform, self.tenant, self.channel))


@dataclass(frozen=True)
class CalendarEntry:
    """One drop as a calendar shows it: one event per drop, one UID for life."""

    episode_id: int  # the drop's first episode: its UID
    show_id: int
    show_title: str
    network: str | None
    season_number: int
    label: str  # S4E1, or S4E1–E2
    kind: MessageKind
    release_at: datetime  # UTC
    timezone: str  # the season's IANA zone
    trailer_url: str | None
    episode_titles: tuple[str, ...]
    hide_titles: bool = False  # a subscription asked for no titles (spoilers)
    sequence: int = 0
    modified_at: datetime | None = None

    @property
    def uid(self) -> str:
        return f"episode-{self.episode_id}@{UID_DOMAIN}"

    @property
    def summary(self) -> str:
        if self.kind is MessageKind.PREMIERE:
            return f"{self.show_title} {self.label}: season {self.season_number} premiere"
        if self.kind is MessageKind.FINALE:
            return f"{self.show_title} {self.label}: season finale"
        return f"{self.show_title} {self.label}"

    @property
    def is_milestone(self) -> bool:
        return self.kind in (MessageKind.PREMIERE, MessageKind.FINALE)

    @property
    def description(self) -> str:
        lines = []
        if self.shown_titles:
            lines.append(" / ".join(f"“{title}”" for title in self.shown_titles))
        if self.network:
            lines.append(f"On {self.network}.")
        if self.trailer_url:
            lines.append(f"Trailer: {self.trailer_url}")
        return "\n".join(lines)

    @property
    def shown_titles(self) -> tuple[str, ...]:
        return () if self.hide_titles else self.episode_titles

    def fingerprint(self) -> str:
        """What feeds say about the drop, so a change of any of it raises SEQUENCE.

        The same for every channel (titles are in it even where a channel hides them), or
        feeds of two channels read in turn would raise it on every request.
        """
        said = [
            self.summary,
            self.release_at.isoformat(),
            self.episode_titles,
            self.network,
            self.trailer_url,
            self.timezone,
        ]
        return hashlib.sha256(json.dumps(said).encode()).hexdigest()


@dataclass(frozen=True)
class FeedFilter:
    """The filters a feed URL may carry: premieres and finales only; one show."""

    milestones_only: bool = False
    show: str | None = None  # a title, case-insensitive

    def keeps(self, entry: CalendarEntry) -> bool:
        if self.milestones_only and not entry.is_milestone:
            return False
        return self.show is None or entry.show_title.casefold() == self.show.casefold()


class CalendarFeeds:
    """Tokens and entries of calendar feeds; every front end (CLI, chat, web) uses this."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    # ------------------------------------------------------------------ tokens

    def token_for(self, scope: FeedScope, *, rotate: bool = False) -> str:
        """The scope's token, issued on first use; `rotate` revokes it and issues another."""
        if scope.platform not in platform_names():
            raise InvalidInput("channel", f"unknown platform {scope.platform!r}")
        current = None if rotate else self.store.calendar_token(scope.key)
        if current is not None:
            return current
        token = secrets.token_urlsafe(TOKEN_BYTES)
        self.store.replace_calendar_token(scope.key, token, self.clock.now())
        return token

    def scope_for(self, token: str) -> FeedScope | None:
        """The scope a token opens, or None for an unknown, malformed or revoked one."""
        if not TOKEN_RE.match(token or ""):
            return None
        found = self.store.calendar_token_by_digest(hashlib.sha256(token.encode()).hexdigest())
        if found is None:
            return None
        scope_key, stored = found
        # The lookup was by digest; compare the token itself in constant time as well.
        if not hmac.compare_digest(stored.encode(), token.encode()):
            return None
        return FeedScope.parse(scope_key)

    # ------------------------------------------------------------------ entries

    def entries(
        self,
        scope: FeedScope,
        *,
        since: datetime | None = None,
        feed_filter: FeedFilter | None = None,
    ) -> list[CalendarEntry]:
        """The scope's drops released after `since` (default: the last 30 days) and all
        upcoming ones, in time order, each with its current revision."""
        since = since if since is not None else self.clock.now() - RECENT
        subscriptions = scope.subscriptions(self.store)
        hide_titles = {s.show_id for s in subscriptions if s.hide_titles}
        show_ids = sorted({s.show_id for s in subscriptions})
        shows = {show.id: show for show in self.store.visible_shows(scope.tenant_key)}
        found: list[CalendarEntry] = []
        for show_id in show_ids:
            show = shows.get(show_id)
            if show is not None:
                found += _show_entries(self.store, show, since, show_id in hide_titles)
        if feed_filter is not None:
            found = [entry for entry in found if feed_filter.keeps(entry)]
        found.sort(key=lambda entry: (entry.release_at, entry.show_title, entry.label))
        return self._with_revisions(found)

    def _with_revisions(self, found: list[CalendarEntry]) -> list[CalendarEntry]:
        """Attach each drop's SEQUENCE and LAST-MODIFIED, bumping them where it changed."""
        now = self.clock.now()
        known = self.store.calendar_revisions([entry.episode_id for entry in found])
        changed: list[tuple[int, str, int, datetime]] = []
        result = []
        for entry in found:
            fingerprint = entry.fingerprint()
            previous = known.get(entry.episode_id)
            if previous is None:
                sequence, modified_at = 0, now
            elif previous[0] != fingerprint:
                sequence, modified_at = previous[1] + 1, now
            else:
                sequence, modified_at = previous[1], previous[2]
            if previous is None or previous[0] != fingerprint:
                changed.append((entry.episode_id, fingerprint, sequence, modified_at))
            result.append(replace(entry, sequence=sequence, modified_at=modified_at))
        if changed:
            self.store.save_calendar_revisions(changed)
        return result


def feed_url(base_url: str, token: str, *, ics: bool = True) -> str:
    """The public address of a feed (`.ics`) or of its page (without)."""
    return base_url.rstrip("/") + FEED_PATH + quote(token) + (".ics" if ics else "")


def feed_answer(scope: FeedScope, base_url: str, token: str, *, rotated: bool) -> list[str]:
    """What every front end answers when asked for a feed: the feed URL is the last line."""
    lines = [
        f"Calendar of {scope.describe()}: subscribe to the URL below in your calendar app.",
        "Anyone who has it can read the calendar; rotating it replaces it.",
        f"Page: {feed_url(base_url, token, ics=False)}",
        feed_url(base_url, token),
    ]
    if rotated:
        lines.insert(0, "Issued a new URL; the previous one no longer works.")
    return lines


def _show_entries(
    store: Store, show: Show, since: datetime, hide_titles: bool
) -> Iterable[CalendarEntry]:
    for season in store.seasons_of(show.id):
        for drop in drops(show, season, store.episodes_of(season.id)):
            if drop.release_at <= since:
                continue
            yield CalendarEntry(
                episode_id=drop.episodes[0].id,
                show_id=show.id,
                show_title=show.title,
                network=show.network,
                season_number=season.number,
                label=episode_label(season, drop.episodes),
                kind=drop_kind(season, drop.episodes),
                release_at=drop.release_at,
                timezone=season.timezone,
                trailer_url=season.trailer_url,
                episode_titles=tuple(e.title for e in drop.episodes if e.title),
                hide_titles=hide_titles,
            )
