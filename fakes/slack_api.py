"""A local fake of the Slack Web API that slack_sdk's `AsyncWebClient(base_url=...)` talks to.

Why a fake server rather than mocks: the Slack adapter's promises (what goes on the wire, how a
429 or a 5xx is interpreted, how a resend after a crash is detected) only mean something when
the real slack_sdk client serialises the request and parses the answer. This server answers
with the JSON shapes Slack documents, records every request for assertions, and can inject the
failures a production fan-out meets: `ok:false` error codes, HTTP 429 with `Retry-After`
(per channel and global) and 5xx bursts.

It also plays Slack's Socket Mode side: `apps.connections.open` (app-level token only) hands
out a one-time `ws://` URL, and the websocket at that URL says `hello`, carries envelopes the
test pushes (`push_slash_command`, `push_envelope`) and records the app's acks (`acks`,
`wait_for_ack`), as the real slack_sdk `SocketModeClient` expects.

It is also used by the fan-out benchmark (thousands of channels), so the hot path does no
sleeping and only O(1) bookkeeping per request. Pass `record=False` to skip request logging.

Usage::

    async with FakeSlackApi() as api:
        client = AsyncWebClient(token=api.bot_token, base_url=api.base_url)
        await client.chat_postMessage(channel="C1", text="hi")
        assert api.posts_per_channel["C1"] == 1

    # Socket Mode: the app connects with api.app_token, then
    envelope_id = await api.push_slash_command("shows", user_id="U1", channel_id="C1")
    ack = await api.wait_for_ack(envelope_id)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from fakes.serving import AppServer

# chat.postMessage error codes as Slack documents them, by what they mean for a subscription.
UNAVAILABLE_CODES = (  # the bot itself is refused: every channel alike
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
)
CHANNEL_CODES = (  # this channel refuses the bot
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "restricted_action",
    "restricted_action_read_only_channel",
)
PAYLOAD_CODES = (  # this message is refused
    "invalid_blocks",
    "msg_too_long",
    "invalid_arguments",
    "no_text",
)
# Since May 2025, apps distributed outside the Slack Marketplace get conversations.history at
# 1 call per minute and at most 15 messages per call (`non_marketplace=True`).
NON_MARKETPLACE_HISTORY_LIMIT = 15
NON_MARKETPLACE_HISTORY_INTERVAL = 60.0


@dataclass
class RecordedRequest:
    """One call as the server saw it: API method, HTTP verb, headers and merged arguments."""

    method: str
    http_method: str
    headers: dict[str, str]
    args: dict[str, Any]
    json_body: Any = None

    @property
    def authorization(self) -> str | None:
        return self.headers.get("Authorization")


@dataclass
class FakeUser:
    id: str
    team_id: str
    name: str
    is_admin: bool = False
    is_owner: bool = False
    is_primary_owner: bool = False
    deleted: bool = False
    is_bot: bool = False
    enterprise_id: str | None = None  # Enterprise Grid: the organisation of the user

    def as_json(self) -> dict[str, Any]:
        grid = {}
        if self.enterprise_id:
            # users.info on Enterprise Grid: `enterprise_user` names the organisation.
            grid["enterprise_user"] = {
                "id": self.id,
                "enterprise_id": self.enterprise_id,
                "enterprise_name": "Test Org",
                "is_admin": self.is_admin,
                "is_owner": self.is_owner,
                "teams": [self.team_id],
            }
        return {
            **grid,
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "real_name": self.name,
            "deleted": self.deleted,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": self.is_primary_owner,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "tz": "Europe/Berlin",
        }


@dataclass
class FakeChannel:
    id: str
    name: str
    is_member: bool = True
    is_archived: bool = False
    is_private: bool = False
    exists: bool = True
    messages: list[dict[str, Any]] = field(default_factory=list)  # oldest first

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_member": self.is_member,
            "created": 1_500_000_000,
        }


@dataclass
class FakeSocket:
    """One Socket Mode websocket connection as the server saw it."""

    ws: web.WebSocketResponse
    ticket: str
    received: list[dict[str, Any]] = field(default_factory=list)  # every JSON frame from the app
    closed: bool = False
    close_code: int | None = None  # the code the app closed with (1000: a normal close)
    closed_by_server: bool = False


@dataclass
class Fault:
    """A scripted answer that replaces the normal one for the next matching request."""

    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    channel: str | None = None  # only requests for this channel match


class FakeSlackApi:
    """An aiohttp server on 127.0.0.1 (a free port) that behaves like the Slack Web API.

    Configure users (`add_user`), channels (`add_channel`; unknown channel ids spring into
    existence as channels the bot is a member of, unless `auto_channels=False`), tokens
    (`revoke`), faults (`fault`), rate limits (`per_channel_interval`, `global_per_second`).
    Time for the rate limits comes from `clock` (seconds, monotonic), so tests can drive it.
    """

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        team_id: str = "T0001",
        team: str = "Test Workspace",
        enterprise_id: str | None = None,
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        scopes: str = "commands,chat:write,users:read,channels:read,groups:read,channels:history",
        auto_channels: bool = True,
        per_channel_interval: float | None = None,
        global_per_second: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        record: bool = True,
        non_marketplace: bool = False,
        app_token: str = "xapp-1-A0APP-1-test-app-token",
        app_id: str = "A0APP",
        enterprise_install: bool = False,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.app_id = app_id
        self.team_id = team_id
        self.team = team
        self.enterprise_id = enterprise_id
        # An org-wide Enterprise Grid installation (auth.test `is_enterprise_install`).
        self.enterprise_install = enterprise_install
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.scopes = scopes
        self.auto_channels = auto_channels
        self.per_channel_interval = per_channel_interval
        self.global_per_second = global_per_second
        self.clock = clock
        self.record = record
        self.non_marketplace = non_marketplace

        self.token_status: dict[str, str] = {bot_token: "ok", app_token: "ok"}
        self.app_tokens: set[str] = {app_token}  # app-level: apps.connections.open only
        self.users: dict[str, FakeUser] = {}
        self.channels: dict[str, FakeChannel] = {}
        self.requests: list[RecordedRequest] = []
        self.calls: Counter[str] = Counter()
        self.posts_per_channel: Counter[str] = Counter()
        self.rate_limited: Counter[str] = Counter()  # 429s answered, per API method
        self.responses: list[dict[str, Any]] = []  # bodies POSTed to response_url
        self.scheduled: dict[str, dict[str, Any]] = {}
        self.views: list[dict[str, Any]] = []  # views opened with views.open
        self.ephemerals: list[dict[str, Any]] = []  # chat.postEphemeral arguments
        self._used_triggers: set[str] = set()
        self.sockets: list[FakeSocket] = []  # Socket Mode connections, oldest first
        self.acks: list[dict[str, Any]] = []  # envelope acks received over the websockets
        self._tickets: set[str] = set()  # issued by apps.connections.open, usable once
        self.refuse_sockets = False  # True: every websocket handshake fails (HTTP 401)
        self._envelopes = itertools.count(1)
        self._call_watchers = 0  # waiters in wait_for_calls (the hot path skips notifying)
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._last_post: dict[str, float] = {}
        self._last_history: float | None = None  # non-Marketplace: 1 call per minute
        self._window: tuple[int, int] = (0, 0)  # (second, count) for the global limit
        self._ts = itertools.count(1)
        self._epoch = int(time.time())
        self._changed = asyncio.Condition()
        self._server: AppServer | None = None
        self.port = 0

    # ---- lifecycle

    async def start(self) -> FakeSlackApi:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{key}", self._handle_response_url)
        app.router.add_get("/socket-mode", self._handle_socket)
        self._server = await AppServer(app).start()
        self.port = self._server.port
        return self

    async def stop(self) -> None:
        for socket in self.open_sockets():
            await self.close_socket(socket)
        if self._server is not None:
            await self._server.stop()
            self._server = None

    async def __aenter__(self) -> FakeSlackApi:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What to pass as `AsyncWebClient(base_url=...)` / SLACK_API_BASE."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, key: str = "1") -> str:
        """A slash command `response_url` that lands in `self.responses`."""
        return f"http://127.0.0.1:{self.port}/response/{key}"

    # ---- configuration

    def add_user(
        self,
        user_id: str,
        *,
        team_id: str | None = None,
        name: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        is_primary_owner: bool = False,
        deleted: bool = False,
        enterprise_id: str | None = None,
    ) -> FakeUser:
        user = FakeUser(
            user_id,
            team_id or self.team_id,
            name or user_id.lower(),
            is_admin,
            is_owner,
            is_primary_owner,
            deleted,
            enterprise_id=enterprise_id,
        )
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        is_member: bool = True,
        is_archived: bool = False,
        is_private: bool = False,
        exists: bool = True,
    ) -> FakeChannel:
        channel = FakeChannel(
            channel_id, name or channel_id.lower(), is_member, is_archived, is_private, exists
        )
        self.channels[channel_id] = channel
        return channel

    def seed_message(
        self, channel_id: str, ts: float, text: str = "hello", *, key: str | None = None
    ) -> dict[str, Any]:
        """Put a message into a channel's history at `ts` (seconds since the epoch), e.g. one
        posted before the test began; `key` gives it episode-bot's metadata key."""
        channel = self.channels.get(channel_id) or self.add_channel(channel_id)
        message: dict[str, Any] = {"type": "message", "text": text, "ts": f"{ts:.6f}"}
        if key is not None:
            message["metadata"] = {
                "event_type": "episode_bot_post",
                "event_payload": {"key": key},
            }
        channel.messages.append(message)
        channel.messages.sort(key=lambda m: float(m["ts"]))
        return message

    def revoke(self, token: str | None = None, code: str = "token_revoked") -> None:
        """Make every call with this token answer `ok:false` with `code`."""
        self.token_status[token or self.bot_token] = code

    def fault(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        channel: str | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` with a failure instead of the normal answer.

        status 429 (+ retry_after) is a rate limit, 5xx a server error, 200 + error an
        `ok:false` answer. With `channel`, only calls for that channel match.
        """
        for _ in range(times):
            self._faults[method].append(Fault(status, error, retry_after, channel))

    def messages_in(self, channel_id: str) -> list[dict[str, Any]]:
        channel = self.channels.get(channel_id)
        return list(channel.messages) if channel else []

    def requests_for(self, method: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method]

    async def wait_for_responses(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait (event-driven, no polling) until `count` response_url posts have arrived."""

        async def _wait() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.responses) >= count)

        await asyncio.wait_for(_wait(), timeout)
        return self.responses[:count]

    # ---- Socket Mode

    def open_sockets(self) -> list[FakeSocket]:
        return [s for s in self.sockets if not s.closed]

    def slash_command_payload(
        self,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        team_id: str | None = None,
        key: str = "1",
        command: str = "/episodes",
    ) -> dict[str, Any]:
        """A slash command payload as Slack sends it in a `slash_commands` envelope."""
        return {
            "token": "legacy-verification-token",
            "team_id": team_id or self.team_id,
            "team_domain": "test",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": self.response_url(key),
            "trigger_id": f"trigger.{key}",
        }

    async def push_envelope(
        self,
        payload: dict[str, Any],
        *,
        type: str = "slash_commands",
        accepts_response_payload: bool = True,
        envelope_id: str | None = None,
    ) -> str:
        """Send one envelope over the newest open connection; returns its envelope_id."""
        sockets = self.open_sockets()
        if not sockets:
            raise RuntimeError("no Socket Mode connection is open")
        envelope_id = envelope_id or f"env-{next(self._envelopes):06d}-{uuid.uuid4().hex[:8]}"
        await sockets[-1].ws.send_json(
            {
                "envelope_id": envelope_id,
                "type": type,
                "payload": payload,
                "accepts_response_payload": accepts_response_payload,
            }
        )
        return envelope_id

    async def push_slash_command(
        self,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        team_id: str | None = None,
        key: str = "1",
    ) -> str:
        """`/episodes text` over Socket Mode; the answer goes to `response_url(key)`."""
        payload = self.slash_command_payload(
            text, user_id=user_id, channel_id=channel_id, team_id=team_id, key=key
        )
        return await self.push_envelope(payload)

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """Wait (event-driven) for the app's ack of `envelope_id` and return it."""

        def found() -> dict[str, Any] | None:
            return next((a for a in self.acks if a.get("envelope_id") == envelope_id), None)

        async def _wait() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: found() is not None)

        await asyncio.wait_for(_wait(), timeout)
        ack = found()
        assert ack is not None
        return ack

    async def wait_for_sockets(
        self, *, opened: int = 1, closed: int = 0, timeout: float = 5.0
    ) -> list[FakeSocket]:
        """Wait until at least `opened` connections were made and `closed` of them ended."""

        def done() -> bool:
            return len(self.sockets) >= opened and sum(s.closed for s in self.sockets) >= closed

        async def _wait() -> None:
            async with self._changed:
                await self._changed.wait_for(done)

        await asyncio.wait_for(_wait(), timeout)
        return list(self.sockets)

    async def close_socket(self, socket: FakeSocket, code: int = 1001) -> None:
        """Close a connection from Slack's side (as Slack does when it rotates hosts)."""
        socket.closed_by_server = True
        await socket.ws.close(code=code, message=b"server closing")

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if self.refuse_sockets or ticket not in self._tickets:  # unknown or already used
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        socket = FakeSocket(ws, ticket)
        self.sockets.append(socket)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self.open_sockets()),
                "debug_info": {
                    "host": "applink-fake",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self.app_id},
            }
        )
        await self._notify()
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                socket.received.append(data)
                if isinstance(data, dict) and "envelope_id" in data:
                    self.acks.append(data)
                    await self._notify()
        finally:
            socket.closed = True
            socket.close_code = ws.close_code
            await self._notify()
        return ws

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> None:
        """Wait (event-driven, no polling) until `method` was called `count` times."""

        async def _wait() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: self.calls[method] >= count)

        self._call_watchers += 1
        try:
            await asyncio.wait_for(_wait(), timeout)
        finally:
            self._call_watchers -= 1

    # ---- request handling

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        body["_key"] = request.match_info["key"]
        self.responses.append(body)
        async with self._changed:
            self._changed.notify_all()
        return web.Response(text="ok", content_type="text/plain")

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        json_body: Any = None
        if request.can_read_body:
            if request.content_type == "application/json":
                json_body = await request.json()
                if isinstance(json_body, dict):
                    args.update(json_body)
            else:
                args.update(await request.post())
        headers = dict(request.headers)
        token = _bearer(headers.get("Authorization")) or args.get("token")
        self.calls[method] += 1
        if self.record:
            self.requests.append(RecordedRequest(method, request.method, headers, args, json_body))

        try:
            return self._answer(method, args, token)
        finally:
            if self._call_watchers:
                async with self._changed:
                    self._changed.notify_all()

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> web.Response:
        if (fault := self._take_fault(method, args)) is not None:
            return self._fault_response(method, fault)
        status = self.token_status.get(token or "", "not_authed" if not token else "invalid_auth")
        if status != "ok":
            return _error(status)
        if (method == "apps.connections.open") != (token in self.app_tokens):
            return _error("not_allowed_token_type")  # app-level vs bot token, as Slack answers
        if method == "chat.postMessage" and (limited := self._rate_limit(args)) is not None:
            self.rate_limited[method] += 1
            return limited
        if method == "conversations.history" and (limited := self._history_limit()) is not None:
            self.rate_limited[method] += 1
            return limited
        handler = _HANDLERS.get(method)
        if handler is None:
            return _error("unknown_method")
        return handler(self, args)

    def _take_fault(self, method: str, args: dict[str, Any]) -> Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        if queue[0].channel is None or queue[0].channel == args.get("channel"):
            return queue.popleft()
        for i, fault in enumerate(queue):  # rare: channel-specific faults out of order
            if fault.channel == args.get("channel"):
                del queue[i]
                return fault
        return None

    def _fault_response(self, method: str, fault: Fault) -> web.Response:
        if fault.status == 429:
            self.rate_limited[method] += 1
            return _ratelimited(fault.retry_after if fault.retry_after is not None else 1)
        if fault.status >= 500:
            return web.json_response(
                {"ok": False, "error": fault.error or "internal_error"}, status=fault.status
            )
        return _error(fault.error or "fatal_error", status=fault.status)

    def _rate_limit(self, args: dict[str, Any]) -> web.Response | None:
        now = self.clock()
        if self.global_per_second is not None:
            second = int(now)
            window_second, count = self._window
            count = count + 1 if window_second == second else 1
            self._window = (second, count)
            if count > self.global_per_second:
                return _ratelimited(1)
        if self.per_channel_interval is not None:
            channel = str(args.get("channel", ""))
            last = self._last_post.get(channel)
            if last is not None and now - last < self.per_channel_interval:
                wait = self.per_channel_interval - (now - last)
                return _ratelimited(max(1, int(wait + 0.999)))
            self._last_post[channel] = now
        return None

    def _history_limit(self) -> web.Response | None:
        if not self.non_marketplace:
            return None
        now = self.clock()
        last = self._last_history
        if last is not None and now - last < NON_MARKETPLACE_HISTORY_INTERVAL:
            wait = NON_MARKETPLACE_HISTORY_INTERVAL - (now - last)
            return _ratelimited(max(1, int(wait + 0.999)))
        self._last_history = now
        return None

    def _channel(self, channel_id: str) -> FakeChannel | None:
        channel = self.channels.get(channel_id)
        if channel is None and self.auto_channels and channel_id[:1] in ("C", "G"):
            channel = self.add_channel(channel_id)
        if channel is None and channel_id in self.users:
            # chat.postMessage to a user id posts in the app's DM with that user
            channel = self.add_channel(channel_id, name=f"dm-{channel_id.lower()}")
        return channel if channel is not None and channel.exists else None

    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{self._epoch + n // 1_000_000}.{n % 1_000_000:06d}"

    # ---- API methods (documented response shapes)

    def _auth_test(self, args: dict[str, Any]) -> web.Response:
        body = {
            "ok": True,
            "url": "https://test.slack.com/",
            "team": self.team,
            "user": "episode-bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": self.enterprise_install,
        }
        if self.enterprise_id:
            body["enterprise_id"] = self.enterprise_id
        return web.json_response(body, headers={"x-oauth-scopes": self.scopes})

    def _apps_connections_open(self, args: dict[str, Any]) -> web.Response:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        url = f"ws://127.0.0.1:{self.port}/socket-mode?ticket={ticket}&app_id={self.app_id}"
        return web.json_response({"ok": True, "url": url})

    def _users_info(self, args: dict[str, Any]) -> web.Response:
        user = self.users.get(str(args.get("user", "")))
        if user is None:
            return _error("user_not_found")
        return web.json_response({"ok": True, "user": user.as_json()})

    def _conversations_info(self, args: dict[str, Any]) -> web.Response:
        channel = self._channel(str(args.get("channel", "")))
        if channel is None:
            return _error("channel_not_found")
        return web.json_response({"ok": True, "channel": channel.as_json()})

    def _conversations_open(self, args: dict[str, Any]) -> web.Response:
        """An IM with one user (`users`): the same D… channel every time, as Slack answers
        (`already_open` once it exists). Errors as documented for a user the app cannot DM."""
        user_id = str(args.get("users", ""))
        if "," in user_id or args.get("channel"):
            return _error("not_implemented")  # group DMs and reopening by id: not needed here
        user = self.users.get(user_id)
        if user is None:
            return _error("user_not_found")
        if user.is_bot:
            return _error("cannot_dm_bot")
        if user.deleted:
            return _error("user_disabled")
        channel_id = f"D{user_id}"
        already_open = channel_id in self.channels
        if not already_open:
            self.add_channel(channel_id, name=f"im-{user_id.lower()}")
        body = {"id": channel_id, "is_im": True, "user": user_id, "created": 1_500_000_000}
        return web.json_response(
            {"ok": True, "no_op": already_open, "already_open": already_open, "channel": body}
        )

    def _post_check(self, channel_id: str) -> tuple[FakeChannel | None, web.Response | None]:
        channel = self._channel(channel_id)
        if channel is None:
            return None, _error("channel_not_found")
        if channel.is_archived:
            return None, _error("is_archived")
        if not channel.is_member:
            return None, _error("not_in_channel")
        return channel, None

    def _chat_post_message(self, args: dict[str, Any]) -> web.Response:
        channel_id = str(args.get("channel", ""))
        channel, refused = self._post_check(channel_id)
        if refused is not None or channel is None:
            return refused or _error("channel_not_found")
        if not args.get("text") and not args.get("blocks"):
            return _error("no_text")
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if blocks is not None and len(blocks) > 50:
            return _error("invalid_blocks")
        metadata = args.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "text": args.get("text", ""),
            "ts": ts,
            "bot_id": self.bot_id,
            "user": self.bot_user_id,
        }
        if blocks is not None:
            message["blocks"] = blocks
        if metadata is not None:
            message["metadata"] = metadata
        channel.messages.append(message)
        self.posts_per_channel[channel_id] += 1
        return web.json_response({"ok": True, "channel": channel_id, "ts": ts, "message": message})

    def _conversations_history(self, args: dict[str, Any]) -> web.Response:
        channel = self._channel(str(args.get("channel", "")))
        if channel is None:
            return _error("channel_not_found")
        if not channel.is_member and channel.is_private:
            return _error("channel_not_found")
        if not channel.is_member:
            return _error("not_in_channel")
        cap = NON_MARKETPLACE_HISTORY_LIMIT if self.non_marketplace else 999
        limit = max(1, min(int(args.get("limit", min(100, cap))), cap))
        oldest = float(args.get("oldest", 0) or 0)
        with_metadata = _truthy(args.get("include_all_metadata"))
        picked: list[dict[str, Any]] = []
        has_more = False  # more messages after `oldest` than `limit`
        for message in reversed(channel.messages):  # newest first, as Slack answers
            if float(message["ts"]) <= oldest:
                break
            if len(picked) == limit:
                has_more = True
                break
            if with_metadata:
                picked.append(message)
            else:
                picked.append({k: v for k, v in message.items() if k != "metadata"})
        return web.json_response(
            {
                "ok": True,
                "messages": picked,
                "has_more": has_more,
                "pin_count": 0,
                "response_metadata": {"next_cursor": ""},
            }
        )

    def _chat_schedule_message(self, args: dict[str, Any]) -> web.Response:
        channel_id = str(args.get("channel", ""))
        _, refused = self._post_check(channel_id)
        if refused is not None:
            return refused
        post_at = int(args.get("post_at", 0))
        if post_at <= time.time():
            return _error("time_in_past")
        scheduled_id = f"Q{next(self._ts):08d}"
        self.scheduled[scheduled_id] = {"channel": channel_id, "post_at": post_at, **args}
        return web.json_response(
            {
                "ok": True,
                "channel": channel_id,
                "scheduled_message_id": scheduled_id,
                "post_at": post_at,
                "message": {"text": args.get("text", ""), "type": "delayed_message"},
            }
        )

    def _chat_delete_scheduled_message(self, args: dict[str, Any]) -> web.Response:
        scheduled_id = str(args.get("scheduled_message_id", ""))
        if self.scheduled.pop(scheduled_id, None) is None:
            return _error("invalid_scheduled_message_id")
        return web.json_response({"ok": True})

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> web.Response:
        """Documented: the user must be in the channel, the bot too (else not_in_channel)."""
        channel_id = str(args.get("channel", ""))
        _, refused = self._post_check(channel_id)
        if refused is not None:
            return refused
        if str(args.get("user", "")) not in self.users:
            return _error("user_not_found")
        if not args.get("text") and not args.get("blocks"):
            return _error("no_text")
        self.ephemerals.append(dict(args))
        return web.json_response({"ok": True, "message_ts": self._next_ts()})

    def _views_open(self, args: dict[str, Any]) -> web.Response:
        """Documented checks: a trigger_id (usable once) and a modal within Slack's limits."""
        trigger_id = str(args.get("trigger_id", "") or "")
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not trigger_id or not isinstance(view, dict):
            return _error("invalid_arguments")
        if trigger_id in self._used_triggers:
            return _error("exchanged_trigger_id")
        blocks = view.get("blocks")
        title = (view.get("title") or {}).get("text", "")
        if (
            view.get("type") != "modal"
            or not isinstance(blocks, list)
            or not 0 < len(blocks) <= 100
            or not 0 < len(title) <= 24
            or len(str(view.get("private_metadata", ""))) > 3000
            or len(str(view.get("callback_id", ""))) > 255
        ):
            return _error("invalid_arguments")
        self._used_triggers.add(trigger_id)
        view_id = f"V{next(self._ts):08d}"
        opened = {**view, "id": view_id, "team_id": self.team_id, "trigger_id": trigger_id}
        self.views.append(opened)
        body = {k: v for k, v in opened.items() if k != "trigger_id"}
        body["state"] = {"values": {}}
        return web.json_response({"ok": True, "view": body})


_HANDLERS: dict[str, Callable[[FakeSlackApi, dict[str, Any]], web.Response]] = {
    "auth.test": FakeSlackApi._auth_test,
    "apps.connections.open": FakeSlackApi._apps_connections_open,
    "users.info": FakeSlackApi._users_info,
    "conversations.info": FakeSlackApi._conversations_info,
    "conversations.history": FakeSlackApi._conversations_history,
    "conversations.open": FakeSlackApi._conversations_open,
    "chat.postMessage": FakeSlackApi._chat_post_message,
    "chat.scheduleMessage": FakeSlackApi._chat_schedule_message,
    "chat.deleteScheduledMessage": FakeSlackApi._chat_delete_scheduled_message,
    "chat.postEphemeral": FakeSlackApi._chat_post_ephemeral,
    "views.open": FakeSlackApi._views_open,
}


def _bearer(header: str | None) -> str | None:
    if header and header.startswith("Bearer "):
        return header[len("Bearer ") :]
    return None


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _error(code: str, status: int = 200) -> web.Response:
    return web.json_response({"ok": False, "error": code}, status=status)


def _ratelimited(retry_after: int) -> web.Response:
    return web.json_response(
        {"ok": False, "error": "ratelimited"},
        status=429,
        headers={"Retry-After": str(retry_after)},
    )
