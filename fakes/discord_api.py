"""A local fake of the Discord REST API (and a minimal gateway) that discord.py really talks to.

Why a fake server rather than mocks: the adapter's job is translation, so the only honest test
is to let discord.py build the real HTTP requests (routes, headers, JSON, rate-limit handling,
interaction callbacks) and to look at what arrives on the wire.

It speaks the documented shapes (https://discord.com/developers/docs): message objects,
`X-RateLimit-*` headers per route bucket, the global limit's 429 (`global: true`,
`Retry-After`, `X-RateLimit-Global`, `Via`), JSON error bodies with Discord's codes, and the
nonce + `enforce_nonce` contract. It is also the benchmark's server (bench/), so bookkeeping is
O(1) per request and limits are answered with 429s, never with delays; `latency` (seconds,
default 0) delays every answer like a round trip to Discord (about 30 ms).

Usage::

    async with FakeDiscord(token="t") as api:
        sender = DiscordSender("t", api_base=api.base_url)
        ...
        assert api.message_count("456") == 1
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from fakes.serving import AppServer

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000

_ROLE_RE = re.compile(r"<@&(\d+)>")
_USER_RE = re.compile(r"<@!?(\d+)>")
_EVERYONE_RE = re.compile(r"@(everyone|here)")


@dataclass
class RecordedRequest:
    """One request as it arrived: what tests assert on."""

    method: str
    path: str  # without the /api/v10 prefix, e.g. "/channels/456/messages"
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    status: int = 0  # the status the fake answered with


@dataclass
class _Injected:
    """A queued failure: the next `remaining` matching requests get this answer."""

    remaining: int
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    match: Callable[[str, str], bool]


@dataclass
class _Window:
    """A fixed rate-limit window: `count` requests since `start` (monotonic seconds)."""

    start: float = 0.0
    count: int = 0


@dataclass
class FakeGuild:
    id: str
    name: str = "Test server"
    channels: list[dict[str, Any]] = field(default_factory=list)
    roles: list[dict[str, Any]] = field(default_factory=list)


_RECORD = web.RequestKey("record", RecordedRequest)


def _json(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Exactly `Content-Type: application/json`, as Discord sends it (discord.py compares it
    verbatim; aiohttp's json_response would add a charset)."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"message": message, "code": code}, status=status)


def _form_error(field_name: str, code: str, message: str) -> web.Response:
    """400 50035 Invalid Form Body with the field's error, as Discord answers a bad query."""
    errors = {field_name: {"_errors": [{"code": code, "message": message}]}}
    return _json({"message": "Invalid Form Body", "code": 50035, "errors": errors}, status=400)


class FakeDiscord:
    """The fake server. Every knob is a plain attribute, so a test can change it mid-run.

    Rate limits (set to None to disable):
      * `route_limit` requests per `route_window` seconds per route bucket; message creation is
        bucketed per channel, as on Discord (its real default is 5 per 5 s).
      * `global_limit` requests per `global_window` seconds over every authenticated route
        (Discord's default is 50 per second; interaction and webhook-token routes are exempt,
        as on Discord), answered with a global 429.
    `latency`: seconds every answer takes (a round trip to Discord is about 0.03).
      * `global_limit` requests per `global_window` seconds over all routes (Discord's default
        is 50 per second), answered with a global 429.
    Message history: `GET /channels/{id}/messages` with `before`/`after`/`around` and `limit`
    (1-100, default 50), newest first, as documented; `no_history` (channel ids) answers an
    empty list, as Discord does when the bot lacks Read Message History.
    Fault loops (bench/chaos.py): `answer_delay` (seconds between storing a message and
    answering), `on_message` (called with each message created).
    Nonces: `remember_nonces = False` turns the nonce memory off (a resend after Discord
    forgot the nonce, which it does after a few minutes, posts a second message).
    Failure injection: `unknown_channels` (404 10003), `missing_access` (403 50001),
    `missing_permissions` (403 50013), `events_forbidden` (guild ids: scheduled event routes
    answer 403 50013, the bot lacks Manage Events), `fail_next(...)` (5xx bursts),
    `rate_limit_next(...)` (429 storms), a wrong token (401).
    """

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        application_id: int = 1100000000000000001,
        bot_user_id: int = 1100000000000000002,
        route_limit: int | None = 5,
        route_window: float = 5.0,
        global_limit: int | None = 50,
        global_window: float = 1.0,
        nonce_window: float = 300.0,
        guilds: Iterable[FakeGuild] = (),
        latency: float = 0.0,
        remember_nonces: bool = True,
    ) -> None:
        self.latency = latency
        self.token = token
        self.application_id = application_id
        self.bot_user_id = bot_user_id
        self.route_limit = route_limit
        self.route_window = route_window
        self.global_limit = global_limit
        self.global_window = global_window
        self.nonce_window = nonce_window
        self.remember_nonces = remember_nonces
        self.no_history: set[str] = set()  # channels where the bot lacks Read Message History
        # A slow platform: a created message is stored at once, its answer sent this much later
        # (the window in which a killed client has posted but not heard back).
        self.answer_delay = 0.0
        self.on_message: Callable[[dict[str, Any]], None] | None = None  # after each create
        self.guilds: dict[str, FakeGuild] = {g.id: g for g in guilds}

        self.unknown_channels: set[str] = set()
        self.missing_access: set[str] = set()
        self.missing_permissions: set[str] = set()
        self.events_forbidden: set[str] = set()  # guilds where the bot lacks Manage Events
        # Direct messages: user id -> DM channel id; users with DMs closed to the bot (50007
        # on posting) and ids that are nobody (50033 on opening).
        self.dm_channels: dict[str, str] = {}
        self.dms_closed: set[str] = set()
        self.unknown_users: set[str] = set()
        self._dm_users: dict[str, str] = {}  # DM channel id -> user id
        self.record_requests = True  # the benchmark may turn this off for memory
        # False: keep only each message's id (counts and nonce replays still work), so that a
        # benchmark's memory figure is the bot's, not this fake's archive of 25,000 embeds.
        self.record_messages = True

        self.requests: list[RecordedRequest] = []
        self.status_counts: Counter[int] = Counter()
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.interaction_callbacks: list[dict[str, Any]] = []
        self.followups: list[dict[str, Any]] = []
        self.scheduled_events: dict[str, dict[str, Any]] = {}
        self.synced_commands: dict[str | None, list[dict[str, Any]]] = {}

        self._ids = itertools.count(1)
        self._nonces: dict[str, tuple[float, dict[str, Any]]] = {}
        self._originals: dict[str, dict[str, Any]] = {}
        self._buckets: dict[str, _Window] = {}
        self._global = _Window()
        self._injected: list[_Injected] = []
        self._sockets: list[web.WebSocketResponse] = []
        self._seq = itertools.count(1)
        self._new_request = asyncio.Condition()
        self._server: AppServer | None = None
        self.port = 0

    # ---- lifecycle -------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The fake as an aiohttp application: `start` serves it on this loop; a test of a
        synchronous caller (the CLI) serves it with `fakes.serving.served_in_thread`."""
        app = web.Application(middlewares=[self._middleware])
        app.add_routes(self._routes())
        return app

    async def start(self) -> FakeDiscord:
        self._server = await AppServer(self.app()).start()
        self.port = self._server.port
        return self

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._server is not None:
            await self._server.stop()
            self._server = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """What DISCORD_API_BASE should be set to."""
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # ---- failure injection -----------------------------------------------------------------

    def fail_next(self, count: int, status: int = 503, *, path_contains: str = "") -> None:
        """The next `count` requests (whose path contains `path_contains`) answer `status`."""
        self._inject(
            count, status, {"message": "Service Unavailable", "code": 0}, {}, path_contains
        )

    def refuse_next(
        self, count: int, status: int, code: int, message: str, *, path_contains: str = ""
    ) -> None:
        """The next `count` matching requests answer Discord's JSON error `{message, code}`
        with `status` (e.g. 400 50035 Invalid Form Body, 403 50007, 404 0)."""
        self._inject(count, status, {"message": message, "code": code}, {}, path_contains)

    def rate_limit_next(
        self,
        count: int,
        retry_after: float = 0.01,
        *,
        is_global: bool = False,
        path_contains: str = "",
    ) -> None:
        """The next `count` matching requests get a 429 (a storm), route or global."""
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
        }
        if is_global:
            body["code"] = 0
        self._inject(count, 429, body, self._limited_headers(retry_after, is_global), path_contains)

    def _inject(
        self,
        count: int,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str],
        path_contains: str,
    ) -> None:
        self._injected.append(
            _Injected(count, status, body, headers, lambda _m, p: path_contains in p)
        )

    # ---- assertions ------------------------------------------------------------------------

    def message_count(self, channel_id: str | int) -> int:
        return len(self.messages.get(str(channel_id), ()))

    @property
    def total_messages(self) -> int:
        return sum(len(m) for m in self.messages.values())

    def requests_to(self, method: str, path_re: str) -> list[RecordedRequest]:
        pattern = re.compile(path_re)
        return [r for r in self.requests if r.method == method and pattern.search(r.path)]

    async def wait_for_request(
        self, method: str, path_re: str, *, count: int = 1, timeout: float = 5.0
    ) -> list[RecordedRequest]:
        """Wait (on a condition, not a clock) until `count` matching requests arrived."""

        def enough() -> bool:
            return len(self.requests_to(method, path_re)) >= count

        async with self._new_request:
            await asyncio.wait_for(self._new_request.wait_for(enough), timeout)
        return self.requests_to(method, path_re)

    def seed_message(self, channel_id: str, content: str, *, author_id: str = "42") -> dict:
        """A message someone else posted in the channel (a member, another bot)."""
        author = {"id": author_id, "username": "member", "discriminator": "0", "avatar": None}
        message = self._message(channel_id, {"content": content}, author=author)
        self.messages[channel_id].append(message)
        return message

    def add_scheduled_event(self, guild_id: str, **fields: Any) -> dict[str, Any]:
        """An event someone else made in the guild (a member, another bot), as Discord would
        store it: an EXTERNAL, guild-only, scheduled one unless `fields` say otherwise."""
        event = {
            "channel_id": None,
            "entity_id": None,
            "creator_id": "1",
            "image": None,
            "name": "Movie night",
            "description": None,
            "entity_type": 3,
            "entity_metadata": {"location": "Somewhere"},
            "privacy_level": 2,
            "scheduled_start_time": "2023-11-10T05:00:00+00:00",
            "scheduled_end_time": "2023-11-10T06:00:00+00:00",
            **fields,
            "id": self.snowflake(),
            "guild_id": guild_id,
            "status": fields.get("status", 1),
        }
        self.scheduled_events[event["id"]] = event
        return event

    # ---- gateway ---------------------------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH event (op 0) to every connected gateway client."""
        frame = json.dumps({"op": 0, "t": event, "s": next(self._seq), "d": data})
        for ws in list(self._sockets):
            await ws.send_str(frame)

    # ---- payloads --------------------------------------------------------------------------

    def snowflake(self) -> str:
        millis = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return str((millis << 22) | (next(self._ids) & 0x3FFFFF))

    def user_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.bot_user_id),
            "username": "episode-bot",
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "flags": 0,
        }

    def guild_payload(self, guild: FakeGuild) -> dict[str, Any]:
        return {
            "id": guild.id,
            "name": guild.name,
            "unavailable": False,
            "member_count": 2,
            "owner_id": "1",
            "roles": guild.roles
            or [{"id": guild.id, "name": "@everyone", "permissions": "0", "position": 0}],
            "channels": guild.channels,
            "threads": [],
            "members": [],
            "voice_states": [],
            "presences": [],
            "emojis": [],
            "stickers": [],
            "features": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def _message(self, channel_id: str, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
        content = body.get("content") or ""
        pings = _pings(content, body.get("allowed_mentions"))
        return {
            "id": self.snowflake(),
            "channel_id": channel_id,
            "type": 0,
            "author": self.user_payload(),
            "content": content,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": pings["everyone"],
            "mentions": [
                {"id": u, "username": "u", "discriminator": "0", "avatar": None}
                for u in pings["users"]
            ],
            "mention_roles": pings["roles"],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "flags": body.get("flags", 0),
            "nonce": body.get("nonce"),
            **extra,
        }

    # ---- HTTP plumbing ---------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        if request.path == "/gateway":
            return await handler(request)
        path = request.path.removeprefix(API_PREFIX)
        body: Any = None
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = None
        record = RecordedRequest(
            request.method, path, dict(request.query), dict(request.headers), body
        )
        request[_RECORD] = record
        if self.latency:
            await asyncio.sleep(self.latency)
        response = self._precheck(request, path)
        if response is None:
            response = await handler(request)
        record.status = response.status
        self.status_counts[response.status] += 1
        if self.record_requests:
            self.requests.append(record)
            async with self._new_request:
                self._new_request.notify_all()
        return response

    def _precheck(self, request: web.Request, path: str) -> web.Response | None:
        """Auth, injected failures and rate limits: in the order Discord applies them."""
        # Interaction callbacks and webhook-token routes authenticate by the token in the URL.
        token_route = path.startswith("/interactions/") or (
            path.startswith("/webhooks/") and path.count("/") >= 3
        )
        if not token_route and request.headers.get("Authorization") != f"Bot {self.token}":
            return _error(401, 0, "401: Unauthorized")
        now = time.monotonic()
        if self.global_limit is not None and not token_route:
            window = self._global
            if now - window.start >= self.global_window:
                window.start, window.count = now, 0
            window.count += 1
            if window.count > self.global_limit:
                retry = max(0.001, self.global_window - (now - window.start))
                return _json(
                    {
                        "message": "You are being rate limited.",
                        "retry_after": retry,
                        "global": True,
                        "code": 0,
                    },
                    status=429,
                    headers=self._limited_headers(retry, True),
                )
        for injected in self._injected:
            if injected.remaining > 0 and injected.match(request.method, path):
                injected.remaining -= 1
                if injected.remaining == 0:
                    self._injected = [i for i in self._injected if i.remaining > 0]
                return _json(injected.body, status=injected.status, headers=injected.headers)
        return None

    def _limited_headers(self, retry_after: float, is_global: bool) -> dict[str, str]:
        headers = {
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "Via": "1.1 google",
            "X-RateLimit-Scope": "global" if is_global else "user",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        else:
            headers.update(
                {
                    "X-RateLimit-Limit": str(self.route_limit or 1),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                    "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                    "X-RateLimit-Bucket": "injected",
                }
            )
        return headers

    def _bucket(self, bucket: str, key: str) -> tuple[dict[str, str], web.Response | None]:
        """Count one request against a route bucket; the headers Discord sends, or a 429."""
        if self.route_limit is None:
            return {}, None
        now = time.monotonic()
        window = self._buckets.get(key)
        if window is None or now - window.start >= self.route_window:
            window = self._buckets[key] = _Window(now, 0)
        window.count += 1
        reset_after = max(0.001, self.route_window - (now - window.start))
        headers = {
            "X-RateLimit-Limit": str(self.route_limit),
            "X-RateLimit-Remaining": str(max(0, self.route_limit - window.count)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }
        if window.count <= self.route_limit:
            return headers, None
        headers.update(
            {
                "Retry-After": str(math.ceil(reset_after)),
                "Via": "1.1 google",
                "X-RateLimit-Scope": "user",
            }
        )
        body = {
            "message": "You are being rate limited.",
            "retry_after": reset_after,
            "global": False,
        }
        return headers, _json(body, status=429, headers=headers)

    def _routes(self) -> list[web.RouteDef]:
        p = API_PREFIX
        return [
            web.get("/gateway", self._gateway_ws),
            web.get(f"{p}/users/@me", self._me),
            web.get(f"{p}/oauth2/applications/@me", self._application),
            web.get(f"{p}/gateway", self._gateway_info),
            web.get(f"{p}/gateway/bot", self._gateway_info),
            web.get(f"{p}/channels/{{channel_id}}", self._get_channel),
            web.post(f"{p}/channels/{{channel_id}}/messages", self._create_message),
            web.get(f"{p}/channels/{{channel_id}}/messages", self._list_messages),
            web.post(f"{p}/users/@me/channels", self._create_dm),
            web.post(f"{p}/interactions/{{id}}/{{token}}/callback", self._interaction_callback),
            web.post(f"{p}/webhooks/{{app_id}}/{{token}}", self._followup),
            web.get(f"{p}/webhooks/{{app_id}}/{{token}}/messages/@original", self._original),
            web.patch(f"{p}/webhooks/{{app_id}}/{{token}}/messages/@original", self._edit_original),
            web.put(f"{p}/applications/{{app_id}}/commands", self._sync_global),
            web.put(f"{p}/applications/{{app_id}}/guilds/{{guild_id}}/commands", self._sync_guild),
            web.get(f"{p}/guilds/{{guild_id}}/scheduled-events", self._list_events),
            web.post(f"{p}/guilds/{{guild_id}}/scheduled-events", self._create_event),
            web.patch(f"{p}/guilds/{{guild_id}}/scheduled-events/{{event_id}}", self._edit_event),
            web.delete(
                f"{p}/guilds/{{guild_id}}/scheduled-events/{{event_id}}", self._delete_event
            ),
        ]

    def _channel_error(self, channel_id: str) -> web.Response | None:
        if channel_id in self._dm_users and self._dm_users[channel_id] in self.dms_closed:
            return _error(403, 50007, "Cannot send messages to this user")
        if channel_id in self.unknown_channels:
            return _error(404, 10003, "Unknown Channel")
        if channel_id in self.missing_access:
            return _error(403, 50001, "Missing Access")
        if channel_id in self.missing_permissions:
            return _error(403, 50013, "Missing Permissions")
        return None

    # ---- handlers --------------------------------------------------------------------------

    async def _me(self, request: web.Request) -> web.Response:
        return _json(self.user_payload())

    async def _application(self, request: web.Request) -> web.Response:
        return _json(
            {
                "id": str(self.application_id),
                "name": "episode-bot",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.user_payload(),
                "verify_key": "0" * 64,
                "flags": 0,
                "team": None,
            }
        )

    async def _gateway_info(self, request: web.Request) -> web.Response:
        return _json(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["channel_id"]
        if (error := self._channel_error(channel_id)) is not None:
            return error
        guild_id = next(
            (g.id for g in self.guilds.values() if any(c["id"] == channel_id for c in g.channels)),
            None,
        )
        return _json(
            {
                "id": channel_id,
                "type": 0,
                "guild_id": guild_id,
                "name": f"channel-{channel_id}",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
            }
        )

    async def _create_dm(self, request: web.Request) -> web.Response:
        """`POST /users/@me/channels` {recipient_id}: the DM channel object (type 1), the same
        one for the same user every time, as Discord answers."""
        body = request[_RECORD].json or {}
        user_id = str(body.get("recipient_id", ""))
        if not user_id.isdigit() or user_id in self.unknown_users:
            return _json({"message": "Invalid Recipient(s)", "code": 50033}, status=400)
        channel_id = self.dm_channels.setdefault(user_id, self.snowflake())
        self._dm_users[channel_id] = user_id
        recipient = {"id": user_id, "username": f"u{user_id[-4:]}", "discriminator": "0",
                     "global_name": None, "avatar": None}  # fmt: skip
        return _json(
            {
                "id": channel_id,
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [recipient],
            }
        )

    async def _create_message(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["channel_id"]
        headers, limited = self._bucket("channel-messages", f"messages:{channel_id}")
        if limited is not None:
            return limited
        if (error := self._channel_error(channel_id)) is not None:
            return error
        body = request[_RECORD].json
        if not isinstance(body, dict):
            return _error(400, 50109, "The request body contains invalid JSON.")
        if problem := _invalid_message(body):
            return _json(
                {"message": "Invalid Form Body", "code": 50035, "errors": problem}, status=400
            )
        nonce = body.get("nonce")
        now = time.monotonic()
        if nonce is not None and body.get("enforce_nonce") and self.remember_nonces:
            seen = self._nonces.get(str(nonce))
            if seen is not None and now - seen[0] < self.nonce_window:
                return _json(seen[1], headers=headers)
        message = self._message(channel_id, body)
        if not self.record_messages:
            message = {"id": message["id"], "channel_id": channel_id}
        self.messages[channel_id].append(message)
        if nonce is not None and body.get("enforce_nonce") and self.remember_nonces:
            self._nonces[str(nonce)] = (now, message)
        if self.on_message is not None:
            self.on_message(message)
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        return _json(message, headers=headers)

    async def _list_messages(self, request: web.Request) -> web.Response:
        """`GET /channels/{id}/messages`: at most `limit` (1-100, default 50) messages, newest
        first; `before`/`after`/`around` (one of them) pick the page next to a message id."""
        channel_id = request.match_info["channel_id"]
        headers, limited = self._bucket("channel-messages-get", f"history:{channel_id}")
        if limited is not None:
            return limited
        if (error := self._channel_error(channel_id)) is not None:
            return error
        query = request.query
        try:
            limit = int(query.get("limit", "50"))
            anchors = {k: int(query[k]) for k in ("before", "after", "around") if k in query}
        except ValueError:
            return _form_error("limit", "NUMBER_TYPE_COERCE", "Value is not int.")
        if not 1 <= limit <= 100:
            return _form_error(
                "limit",
                "NUMBER_TYPE_MAX" if limit > 100 else "NUMBER_TYPE_MIN",
                "int value should be between 1 and 100.",
            )
        if channel_id in self.no_history:  # no Read Message History: no messages, no error
            return _json([], headers=headers)
        ordered = self.messages.get(channel_id, [])  # oldest first: ids grow with time
        if "before" in anchors:
            page = [m for m in ordered if int(m["id"]) < anchors["before"]][-limit:]
        elif "after" in anchors:
            page = [m for m in ordered if int(m["id"]) > anchors["after"]][:limit]
        elif "around" in anchors:
            older = [m for m in ordered if int(m["id"]) <= anchors["around"]]
            newer = [m for m in ordered if int(m["id"]) > anchors["around"]]
            page = older[-(limit - limit // 2) :] + newer[: limit // 2]
        else:
            page = ordered[-limit:]
        # The nonce is an echo of the create request; a fetched message does not carry it.
        listed = [{k: v for k, v in m.items() if k != "nonce"} for m in reversed(page)]
        return _json(listed, headers=headers)

    async def _interaction_callback(self, request: web.Request) -> web.StreamResponse:
        body = request[_RECORD].json or {}
        token = request.match_info["token"]
        self.interaction_callbacks.append(body)
        kind = body.get("type")
        data = body.get("data") or {}
        message = None
        if kind in (4, 5):
            message = self._message("0", data, interaction_token=token)
            self._originals[token] = message
        if request.query.get("with_response") not in ("1", "true"):
            return web.Response(status=204)
        interaction: dict[str, Any] = {"id": request.match_info["id"], "type": 2}
        payload: dict[str, Any] = {"interaction": interaction}
        if message is not None:
            interaction["response_message_id"] = message["id"]
            interaction["response_message_loading"] = kind == 5
            interaction["response_message_ephemeral"] = bool(int(data.get("flags", 0)) & 64)
            payload["resource"] = {"type": kind, "message": message}
        return _json(payload)

    async def _followup(self, request: web.Request) -> web.Response:
        body = request[_RECORD].json or {}
        message = self._message("0", body, webhook_id=request.match_info["app_id"])
        self.followups.append(body)
        return _json(message)

    async def _original(self, request: web.Request) -> web.Response:
        message = self._originals.get(request.match_info["token"])
        if message is None:
            return _error(404, 10008, "Unknown Message")
        return _json(message)

    async def _edit_original(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        body = request[_RECORD].json or {}
        message = self._originals.get(token) or self._message("0", {})
        message = {**message, **{k: v for k, v in body.items() if k in ("content", "embeds")}}
        self._originals[token] = message
        return _json(message)

    async def _sync(self, guild_id: str | None, request: web.Request) -> web.Response:
        commands = [
            {
                **c,
                "id": self.snowflake(),
                "application_id": str(self.application_id),
                "version": self.snowflake(),
                "guild_id": guild_id,
            }
            for c in request[_RECORD].json or []
        ]
        self.synced_commands[guild_id] = commands
        return _json(commands)

    async def _sync_global(self, request: web.Request) -> web.Response:
        return await self._sync(None, request)

    async def _sync_guild(self, request: web.Request) -> web.Response:
        return await self._sync(request.match_info["guild_id"], request)

    def _event_error(self, request: web.Request) -> web.Response | None:
        if request.match_info["guild_id"] in self.events_forbidden:
            return _error(403, 50013, "Missing Permissions")
        body = request[_RECORD].json
        if request.method == "DELETE" or not isinstance(body, dict):
            return None
        problems = _invalid_event(body, creating=request.method == "POST")
        if problems:
            return _json(
                {"message": "Invalid Form Body", "code": 50035, "errors": problems}, status=400
            )
        return None

    async def _list_events(self, request: web.Request) -> web.Response:
        """GET /guilds/{guild.id}/scheduled-events: the guild's scheduled and active events, a
        JSON array of guild scheduled event objects, oldest first; `with_user_count=1` adds each
        one's `user_count`. Listing needs no Manage Events (only View Channel for channel-bound
        events), so `events_forbidden` does not refuse it."""
        guild_id = request.match_info["guild_id"]
        with_count = request.query.get("with_user_count", "0").lower() in ("1", "true")
        events = [
            {**event, **({"user_count": 0} if with_count else {})}
            for event in sorted(self.scheduled_events.values(), key=lambda e: int(e["id"]))
            if event["guild_id"] == guild_id and event.get("status", 1) in (1, 2)
        ]
        return _json(events)

    async def _create_event(self, request: web.Request) -> web.Response:
        if (error := self._event_error(request)) is not None:
            return error
        event = {
            "channel_id": None,
            "entity_id": None,
            "creator_id": str(self.bot_user_id),
            "image": None,
            **(request[_RECORD].json or {}),
            "id": self.snowflake(),
            "guild_id": request.match_info["guild_id"],
            "status": 1,
        }
        self.scheduled_events[event["id"]] = event
        return _json(event)

    async def _edit_event(self, request: web.Request) -> web.Response:
        if (error := self._event_error(request)) is not None:
            return error
        event = self.scheduled_events.get(request.match_info["event_id"])
        if event is None:
            return _error(404, 10070, "Unknown Guild Scheduled Event")
        event.update(request[_RECORD].json or {})
        return _json(event)

    async def _delete_event(self, request: web.Request) -> web.Response:
        if (error := self._event_error(request)) is not None:
            return error
        if self.scheduled_events.pop(request.match_info["event_id"], None) is None:
            return _error(404, 10070, "Unknown Guild Scheduled Event")
        return web.Response(status=204)

    async def _gateway_ws(self, request: web.Request) -> web.WebSocketResponse:
        """Just enough of the gateway: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}})
        try:
            async for frame in ws:
                if frame.type != WSMsgType.TEXT:
                    continue
                message = json.loads(frame.data)
                op = message.get("op")
                if op == 1:
                    await ws.send_json({"op": 11})
                elif op == 2:
                    if message["d"].get("token") != self.token:
                        await ws.close(code=4004, message=b"Authentication failed.")
                        break
                    await self._ready(ws)
        finally:
            self._sockets.remove(ws)
        return ws

    async def _ready(self, ws: web.WebSocketResponse) -> None:
        ready = {
            "v": 10,
            "user": self.user_payload(),
            "guilds": [{"id": g, "unavailable": True} for g in self.guilds],
            "session_id": "fake-session",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
        }
        await ws.send_json({"op": 0, "t": "READY", "s": next(self._seq), "d": ready})
        for guild in self.guilds.values():
            await ws.send_json(
                {"op": 0, "t": "GUILD_CREATE", "s": next(self._seq), "d": self.guild_payload(guild)}
            )


def _pings(content: str, allowed: dict[str, Any] | None) -> dict[str, Any]:
    """Who a message would notify, by Discord's rules for content and `allowed_mentions`.

    Without `allowed_mentions` Discord parses everything; with it, only what `parse` lists or
    the explicit `roles`/`users` ids ping. Embeds never ping.
    """
    parse = {"everyone", "roles", "users"} if allowed is None else set(allowed.get("parse", []))
    roles_allowed = set() if allowed is None else set(allowed.get("roles", []))
    users_allowed = set() if allowed is None else set(allowed.get("users", []))
    roles = [r for r in _ROLE_RE.findall(content) if "roles" in parse or r in roles_allowed]
    users = [u for u in _USER_RE.findall(content) if "users" in parse or u in users_allowed]
    everyone = "everyone" in parse and bool(_EVERYONE_RE.search(content))
    return {"everyone": everyone, "roles": roles, "users": users}


def _invalid_message(body: dict[str, Any]) -> dict[str, Any] | None:
    """Discord's documented size limits; a violation is a 400 50035 Invalid Form Body."""
    problems: dict[str, Any] = {}
    content = body.get("content") or ""
    if len(content) > 2000:
        problems["content"] = "Must be 2000 or fewer in length."
    embeds = body.get("embeds") or []
    if not content and not embeds and not body.get("components"):
        problems["content"] = "Cannot send an empty message"
    if len(embeds) > 10:
        problems["embeds"] = "Must be 10 or fewer in length."
    total = 0
    for index, embed in enumerate(embeds):
        limits = {"title": 256, "description": 4096}
        for key, limit in limits.items():
            if len(embed.get(key) or "") > limit:
                problems[f"embeds.{index}.{key}"] = f"Must be {limit} or fewer in length."
            total += len(embed.get(key) or "")
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems[f"embeds.{index}.fields"] = "Must be 25 or fewer in length."
        for f in fields:
            if len(f.get("name") or "") > 256 or len(f.get("value") or "") > 1024:
                problems[f"embeds.{index}.fields"] = "Field too long."
            if not f.get("name") or not f.get("value"):
                problems[f"embeds.{index}.fields"] = "Field name and value are required."
            total += len(f.get("name") or "") + len(f.get("value") or "")
        total += len((embed.get("footer") or {}).get("text") or "")
        total += len((embed.get("author") or {}).get("name") or "")
    if total > 6000:
        problems["embeds"] = "Embed size exceeds maximum size of 6000"
    return problems or None


def _invalid_event(body: dict[str, Any], *, creating: bool) -> dict[str, Any] | None:
    """Discord's documented rules for a guild scheduled event (an EXTERNAL one, entity_type 3,
    needs a location and an end time); a violation is a 400 50035 Invalid Form Body."""
    problems: dict[str, Any] = {}
    required = ("name", "privacy_level", "scheduled_start_time", "entity_type")
    for key in required if creating else ():
        if key not in body:
            problems[key] = "This field is required"
    if not 1 <= len(body.get("name") or "x") <= 100:
        problems["name"] = "Must be between 1 and 100 in length."
    if len(body.get("description") or "") > 1000:
        problems["description"] = "Must be 1000 or fewer in length."
    if body.get("entity_type") == 3:
        location = (body.get("entity_metadata") or {}).get("location") or ""
        if not 1 <= len(location) <= 100:
            problems["entity_metadata.location"] = "Must be between 1 and 100 in length."
        if not body.get("scheduled_end_time"):
            problems["scheduled_end_time"] = "Required for external events."
    return problems or None
