"""Discord scheduled events for premieres and finales, so members can click "Interested".

The core lists each guild's upcoming milestones (`bot.agenda.milestones_by_tenant`: premiere
and finale drops of the shows the guild's channels follow) and keeps no opinion about Discord.
`ScheduledEventSync` reconciles: per guild it compares those milestones with the events it
created before (`platform_objects` in the store, by stable key such as `season:7:premiere`)
and creates, edits or deletes events through discord.py's `HTTPClient` routes:

* a new milestone             -> POST   /guilds/{id}/scheduled-events
* a moved or renamed one       -> PATCH  /guilds/{id}/scheduled-events/{event}
* a removed season, a show the guild no longer follows -> DELETE

Events are EXTERNAL (entity_type 3, no voice channel), guild-only (privacy_level 2), one hour
long, located at the show's network ("Streaming" when unknown). A milestone whose start has
passed is left alone: Discord shows and ends it by itself, and the bot forgets it.

Crash-safe creation: every event's description ends with a marker line naming its key,
`episode-bot:season:7:premiere` (Discord keeps the description verbatim). If the bot dies after
Discord created an event but before the store recorded it, the next sync would otherwise
create a duplicate. So before creating anything in a guild where a wanted key has no record,
the sync lists the guild's events once (GET /guilds/{id}/scheduled-events) and adopts a
scheduled event carrying that key's marker: records it, and edits it if it differs from what
the bot would send. Events without our marker, or with another key's, are never touched. A
guild whose wanted keys are all recorded is never listed.

Optional by permission: without Manage Events (or Create Events) in a guild Discord answers
403 (50013); the guild is skipped quietly (one info line) and not asked again until its
milestones change. Only one sync runs at a time; requests during one make it run once more.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import discord
from discord.http import HTTPClient

from bot.agenda import Milestone, milestones_by_tenant
from bot.clock import Clock
from bot.store import PlatformObject, Store

log = logging.getLogger(__name__)

PLATFORM = "discord"
NAME_LIMIT = 100
DESCRIPTION_LIMIT = 1000
LOCATION_LIMIT = 100
EVENT_LENGTH = timedelta(hours=1)
EXTERNAL = 3  # entity_type: somewhere outside Discord
GUILD_ONLY = 2  # privacy_level
UNKNOWN_GUILD = 10004
SCHEDULED = 1  # status: not started yet (2 active, 3 completed, 4 canceled)
MARKER_PREFIX = "episode-bot:"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def event_name(milestone: Milestone) -> str:
    """`For All Mankind: Season 4 premiere`, the title shortened (never the suffix) to fit."""
    what = "premiere" if milestone.kind == "premiere" else "finale"
    suffix = f": Season {milestone.season_number} {what}"
    return _clip(milestone.show_title, NAME_LIMIT - len(suffix)) + suffix


def event_marker(object_key: str) -> str:
    """The description's last line that makes an event recognisable as ours, by key."""
    return MARKER_PREFIX + object_key


def marker_key(description: str | None) -> str | None:
    """The object key an event's description marks it with, or None when it is not ours."""
    lines = (description or "").strip().splitlines()
    last = lines[-1].strip() if lines else ""
    key = last.removeprefix(MARKER_PREFIX)
    return key if key and key != last else None


def event_description(milestone: Milestone) -> str:
    """The text for members, then the marker line (never clipped) naming the event's key."""
    first, last = milestone.first_episode, milestone.last_episode
    label = f"S{milestone.season_number}E{first}" + (f"–E{last}" if last != first else "")
    where = f" on {milestone.network}" if milestone.network else ""
    if milestone.kind == "premiere":
        lines = [f"Season {milestone.season_number} of {milestone.show_title} premieres{where}"]
    else:
        lines = [f"The season {milestone.season_number} finale of {milestone.show_title}{where}"]
    lines[0] += f" ({label})."
    if milestone.season_title:
        lines.append(f"“{milestone.season_title}”")
    if milestone.trailer_url:
        lines.append(f"Trailer: {milestone.trailer_url}")
    marker = event_marker(milestone.object_key)
    return _clip("\n".join(lines), DESCRIPTION_LIMIT - len(marker) - 1) + "\n" + marker


def event_payload(milestone: Milestone) -> dict[str, Any]:
    """The JSON body of a create (and of an edit: every field, so an edit is a full refresh)."""
    start = milestone.release_at.astimezone(UTC)
    return {
        "name": event_name(milestone),
        "description": event_description(milestone),
        "entity_type": EXTERNAL,
        "entity_metadata": {"location": _clip(milestone.network or "Streaming", LOCATION_LIMIT)},
        "privacy_level": GUILD_ONLY,
        "scheduled_start_time": start.isoformat(),
        "scheduled_end_time": (start + EVENT_LENGTH).isoformat(),
    }


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def _same_time(remote: Any, ours: str) -> bool:
    try:
        return datetime.fromisoformat(str(remote)) == datetime.fromisoformat(ours)
    except ValueError:
        return False


def matches_payload(event: dict[str, Any], payload: dict[str, Any]) -> bool:
    """Whether an event as Discord returns it already shows what `payload` would set."""
    return (
        event.get("name") == payload["name"]
        and (event.get("description") or "") == payload["description"]
        and event.get("entity_type") == payload["entity_type"]
        and event.get("privacy_level") == payload["privacy_level"]
        and (event.get("entity_metadata") or {}).get("location")
        == payload["entity_metadata"]["location"]
        and _same_time(event.get("scheduled_start_time"), payload["scheduled_start_time"])
        and _same_time(event.get("scheduled_end_time"), payload["scheduled_end_time"])
    )


@dataclass
class SyncResult:
    created: int = 0
    edited: int = 0
    deleted: int = 0
    unchanged: int = 0
    adopted: int = 0  # found on Discord by marker and recorded again (then counted as above)
    skipped_guilds: list[str] = field(default_factory=list)  # no permission, or an error

    def merge(self, other: SyncResult) -> None:
        self.created += other.created
        self.edited += other.edited
        self.deleted += other.deleted
        self.unchanged += other.unchanged
        self.adopted += other.adopted
        self.skipped_guilds.extend(other.skipped_guilds)


class _SkipGuild(Exception):
    """Stop working on this guild for now."""


class ScheduledEventSync:
    """Keeps each guild's scheduled events equal to its upcoming premieres and finales.

    `http` is a logged-in discord.py `HTTPClient` (the gateway client's or a REST-only one).
    `can_manage(guild_id)` may say from the gateway's cache whether the bot holds the
    permission (True/False) or that it does not know (None: just try).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        http: HTTPClient,
        *,
        can_manage: Callable[[str], bool | None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.http = http
        self.can_manage = can_manage
        self.seen_changes: int | None = None  # the store's change counter at the last sync
        self.syncs = 0
        self.listings = 0  # GET scheduled-events requests made (only when a record is missing)
        self._lock = asyncio.Lock()
        self._wanted = False
        # guild -> the plan it refused (403): not asked again until its plan differs
        self._refused: dict[str, str] = {}

    async def sync(self) -> SyncResult:
        """Reconcile every guild; one sync at a time, and a request during one coalesces."""
        self._wanted = True
        total = SyncResult()
        if self._lock.locked():
            return total  # the running sync loops once more and sees this change
        async with self._lock:
            while self._wanted:
                self._wanted = False
                total.merge(await self._sync_once())
        return total

    async def sync_if_changed(self) -> bool:
        """Sync when the schedule changed since the last sync (e.g. in another process)."""
        if self.seen_changes is not None and self.store.change_counter() == self.seen_changes:
            return False
        await self.sync()
        return True

    async def _sync_once(self) -> SyncResult:
        now = self.clock.now()
        self.seen_changes = self.store.change_counter()
        self.syncs += 1
        desired = milestones_by_tenant(self.store, PLATFORM, now)
        stored: dict[str, list[PlatformObject]] = {}
        for obj in self.store.platform_objects(PLATFORM):
            stored.setdefault(obj.tenant, []).append(obj)
        result = SyncResult()
        for guild in sorted(desired.keys() | stored.keys()):
            await self._sync_guild(
                guild, desired.get(guild, []), stored.get(guild, []), now, result
            )
        if result.created or result.edited or result.deleted:
            log.info(
                "Discord scheduled events: %d created, %d edited, %d deleted",
                result.created,
                result.edited,
                result.deleted,
            )
        return result

    async def _sync_guild(
        self,
        guild: str,
        milestones: list[Milestone],
        objects: list[PlatformObject],
        now: datetime,
        result: SyncResult,
    ) -> None:
        # Past events are Discord's business now: forget them, touch nothing.
        current: dict[str, PlatformObject] = {}
        for obj in objects:
            if obj.expires_at is not None and obj.expires_at <= now:
                self.store.delete_platform_object(PLATFORM, guild, obj.object_key)
            else:
                current[obj.object_key] = obj
        wanted = {m.object_key: (m, event_payload(m)) for m in milestones}
        plan = payload_hash(
            {
                "wanted": {key: payload_hash(p) for key, (_m, p) in wanted.items()},
                "have": {key: obj.payload_hash for key, obj in current.items()},
            }
        )
        in_step = (
            all(
                key in current and current[key].payload_hash == payload_hash(payload)
                for key, (_m, payload) in wanted.items()
            )
            and current.keys() <= wanted.keys()
        )
        if in_step:
            result.unchanged += len(wanted)
            self._refused.pop(guild, None)
            return
        if self._refused.get(guild) == plan or not guild.isdigit():
            return
        if self.can_manage is not None and self.can_manage(guild) is False:
            self._skip(guild, plan, "the bot lacks Manage Events there", result)
            return
        try:
            missing = [key for key in wanted if key not in current]
            if missing:  # maybe created before a crash, unrecorded: find it before creating
                await self._adopt(guild, missing, wanted, current, now, result)
            for key, obj in current.items():
                if key not in wanted:
                    await self._delete(guild, obj)
                    result.deleted += 1
            for key, (milestone, payload) in wanted.items():
                digest = payload_hash(payload)
                obj = current.get(key)
                if obj is not None and obj.payload_hash == digest:
                    result.unchanged += 1
                    continue
                if obj is not None and await self._edit(guild, obj, payload):
                    remote_id = obj.remote_id
                    result.edited += 1
                else:  # new, or deleted on Discord's side (by a member): create it (again)
                    remote_id = await self._create(guild, payload)
                    result.created += 1
                self._remember(guild, key, milestone, remote_id, digest, now)
        except discord.Forbidden as error:
            self._skip(guild, plan, f"Discord refused (error {error.code})", result)
            return
        except discord.NotFound as error:  # Unknown Guild: the server is gone
            self._skip(guild, plan, f"Discord does not know it (error {error.code})", result)
            return
        except _SkipGuild:
            result.skipped_guilds.append(guild)
            return
        self._refused.pop(guild, None)

    def _remember(
        self,
        guild: str,
        key: str,
        milestone: Milestone,
        remote_id: str,
        digest: str,
        now: datetime,
    ) -> PlatformObject:
        """Record the event Discord holds for `key` (an empty digest: edit it next)."""
        self.store.put_platform_object(
            PLATFORM,
            guild,
            key,
            remote_id=remote_id,
            payload_hash=digest,
            expires_at=milestone.release_at,
            now=now,
        )
        return PlatformObject(PLATFORM, guild, key, remote_id, digest, milestone.release_at, now)

    def _skip(self, guild: str, plan: str, why: str, result: SyncResult) -> None:
        log.info(
            "Discord server %s: no scheduled events for premieres and finales (%s); "
            "grant the bot Manage Events to have them. Not asking again until its "
            "schedule changes.",
            guild,
            why,
        )
        self._refused[guild] = plan
        result.skipped_guilds.append(guild)

    async def _adopt(
        self,
        guild: str,
        missing: list[str],
        wanted: dict[str, tuple[Milestone, dict[str, Any]]],
        current: dict[str, PlatformObject],
        now: datetime,
        result: SyncResult,
    ) -> None:
        """List the guild's events once; record each scheduled one marked with a missing key
        (the oldest, should there be several) into the store and `current`. One that differs
        from its payload is recorded with an empty hash, so the caller edits it."""
        self.listings += 1
        events = await self._call(guild, self.http.get_scheduled_events(int(guild), False))
        found: dict[str, dict[str, Any]] = {}
        for event in sorted(events or [], key=lambda e: int(e["id"])):
            key = marker_key(event.get("description"))
            if key in missing and key not in found and event.get("status") == SCHEDULED:
                found[key] = event
        for key, event in found.items():
            milestone, payload = wanted[key]
            digest = payload_hash(payload) if matches_payload(event, payload) else ""
            remote_id = str(event["id"])
            current[key] = self._remember(guild, key, milestone, remote_id, digest, now)
            result.adopted += 1
            log.info(
                "Discord server %s: adopted scheduled event %s for %s (created before a crash?)",
                guild,
                remote_id,
                key,
            )

    async def _create(self, guild: str, payload: dict[str, Any]) -> str:
        data = await self._call(
            guild, self.http.create_guild_scheduled_event(int(guild), **payload)
        )
        return str(data["id"])

    async def _edit(self, guild: str, obj: PlatformObject, payload: dict[str, Any]) -> bool:
        """PATCH the event; False when it is gone on Discord's side (deleted by a member)."""
        try:
            await self._call(
                guild,
                self.http.edit_scheduled_event(int(guild), int(obj.remote_id), **payload),
            )
        except discord.NotFound as error:
            if error.code == UNKNOWN_GUILD:
                raise
            return False
        return True

    async def _delete(self, guild: str, obj: PlatformObject) -> None:
        # Not found: deleted already (by a member), or the guild is gone; nothing to undo.
        with contextlib.suppress(discord.NotFound):
            await self._call(
                guild, self.http.delete_scheduled_event(int(guild), int(obj.remote_id))
            )
        self.store.delete_platform_object(PLATFORM, guild, obj.object_key)

    async def _call(self, guild: str, request: Any) -> Any:
        """Await one request; failures other than 403/404 skip the guild until the next sync."""
        try:
            return await request
        except (discord.Forbidden, discord.NotFound):
            raise
        except discord.HTTPException as error:
            log.warning(
                "Discord server %s: scheduled event request failed (%s, error %s): %s",
                guild,
                error.status,
                error.code,
                error.text[:300],
            )
            raise _SkipGuild from error
        except (discord.RateLimited, aiohttp.ClientError, OSError, TimeoutError) as error:
            log.warning(
                "Discord server %s: scheduled event request failed: %s", guild, type(error).__name__
            )
            raise _SkipGuild from error
