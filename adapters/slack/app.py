"""`SlackAdapter`: the `/episodes` slash command and workspace events through slack-bolt.

It only translates. A slash command becomes one call on `bot.commands.Commands` with an
`Actor` built from what Slack says (the request's team/enterprise and user ids, `users.info`
admin flags, `SLACK_ADMIN_USER_IDS`), never from anything the user typed; the `Reply` becomes
an ephemeral (or in-channel) response. `/episodes admin season add` alone opens a Block Kit
form instead (adapters/slack/modal.py); its submission goes through the same admin check and
the same core call. Posting drops is `SlackSender`'s job, driven by the delivery engine.

Modes (same asyncio loop as the scheduler and the other adapters):
* Socket Mode when SLACK_APP_TOKEN (xapp-…) is set: no public URL needed.
* HTTP mode otherwise: an aiohttp server on SLACK_PORT with `POST /slack/events`.
  `RequestGate` checks the v0 HMAC-SHA256 signature and the 5-minute timestamp window on
  the raw body before anything parses it, refuses a signature seen before (kept in the
  database, so a restart forgets none) and a signed body that is not well formed; Bolt's
  own verification then runs as well.

Only the workspace (or Enterprise Grid organisation) of the bot token, from auth.test,
is served; users.info admin flags count only for a user of that same workspace.

Tenancy: the tenant is the workspace (team id). For an org-wide Enterprise Grid install
(`is_enterprise_install`) it is the enterprise id: one installation, one bot token, channels
shared across the org's workspaces.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import grammar, modal
from adapters.slack.render import (
    FOLLOW_ACTION,
    UNFOLLOW_ACTION,
    fit,
    render_reply,
    render_reply_text,
    verbatim_blocks,
)
from adapters.slack.sender import SlackSender
from bot import catalogue
from bot.errors import BotError, PermissionDenied
from bot.models import Actor, ChannelRef
from bot.sender import RequestBudget
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
SIGNATURE_WINDOW = 60 * 5
ADMIN_CACHE_SECONDS = 60.0
SOCKET_CONNECT_TIMEOUT = 15.0  # seconds for the websocket and Slack's `hello` at start-up
INVITE_HINT = "Invite me first: type `/invite @episode-bot` in that channel, then try again."


class _UnusedTokenWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment and, since the adapter hands it a
    configured client instead, warns that the token "will be unused": nothing to act on.
    Drops that one message from Bolt's logger; every other line passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_BOLT_LOGGER = logging.getLogger("slack_bolt.AsyncApp")
if not any(isinstance(f, _UnusedTokenWarning) for f in _BOLT_LOGGER.filters):
    _BOLT_LOGGER.addFilter(_UnusedTokenWarning())


class SlackStartupError(BotError):
    """The Slack configuration cannot work; the message says which setting, never its value."""


def tenant_of(team_id: str | None, enterprise_id: str | None, is_enterprise_install: Any) -> str:
    """The core's tenant for a request: the workspace, or the org for org-wide installs."""
    org_wide = is_enterprise_install is True or str(is_enterprise_install).lower() == "true"
    if org_wide and enterprise_id:
        return enterprise_id
    tenant = team_id or enterprise_id
    if not tenant:
        raise PermissionDenied("This request names no Slack workspace.")
    return tenant


class RequestGate:
    """HTTP mode's first check, on the raw body before anything parses it.

    1. The v0 signature (HMAC-SHA256 over `v0:{timestamp}:{body}`) and the 5-minute
       timestamp window: otherwise 401. Parsing first would let anyone make the app parse
       (and log tracebacks for) arbitrary bytes.
    2. A signature seen before is a replay: 401. Seen signatures live in the database
       (`Store.first_sighting`) for the window, so a restart forgets none.
    3. A signed body that is not what Slack sends (invalid UTF-8, bad JSON, a `payload=`
       that is not a JSON object): 400.
    Refusals are logged as one summary line a minute at most: a flood adds no log volume.
    """

    LOG_INTERVAL = 60.0

    def __init__(
        self,
        signing_secret: str,
        store: Store,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.secret = signing_secret.encode()
        self.store = store
        self.clock = clock
        self.monotonic = monotonic
        self._refused = 0
        self._last_log = -math.inf

    def check(self, body: bytes, headers: Mapping[str, str]) -> web.Response | None:
        """None when the request may go on to Bolt; else the response that refuses it."""
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        signature = headers.get("X-Slack-Signature", "")
        if not (timestamp.isdigit() and signature and self._signed(body, timestamp, signature)):
            return self._refuse(401, "unsigned or badly signed")
        now = self.clock()
        if not self.store.first_sighting(
            f"slack:{signature}",
            now=datetime.fromtimestamp(now, UTC),
            keep_until=datetime.fromtimestamp(now + 2 * SIGNATURE_WINDOW, UTC),
        ):
            return self._refuse(401, "replayed")
        if not _well_formed(body, headers.get("Content-Type", "")):
            return self._refuse(400, "signed but malformed")
        return None

    def _signed(self, body: bytes, timestamp: str, signature: str) -> bool:
        # Slack's v0 scheme over the bytes as received. slack_sdk's SignatureVerifier
        # decodes the body as UTF-8 first and raises on anything else, so the HMAC is
        # computed here; the formula is checked against Slack's documented test vector.
        if abs(self.clock() - int(timestamp)) > SIGNATURE_WINDOW:
            return False
        base = b"v0:" + timestamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self.secret, base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    def _refuse(self, status: int, why: str) -> web.Response:
        self._refused += 1
        if self.monotonic() - self._last_log >= self.LOG_INTERVAL:
            log.warning(
                "Slack: refused %d request(s) since the last report (latest: %s, HTTP %d)",
                self._refused,
                why,
                status,
            )
            self._refused = 0
            self._last_log = self.monotonic()
        return web.json_response({"error": "invalid request"}, status=status)


def _well_formed(body: bytes, content_type: str) -> bool:
    """Is a signed body what Slack sends: UTF-8, a JSON object or a form (whose `payload`,
    if any, is a JSON object)?"""
    try:
        text = body.decode("utf-8")
        if "json" in content_type.lower():
            return isinstance(json.loads(text), dict)
        form = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
        payload = form.get("payload")
        return payload is None or isinstance(json.loads(payload[0]), dict)
    except (UnicodeDecodeError, ValueError):
        return False


def interaction_tenant(body: dict[str, Any]) -> str:
    """The tenant of an interactivity payload (a button, a form), where Slack puts it."""
    team = body.get("team") or {}
    enterprise = body.get("enterprise") or {}
    return tenant_of(
        team.get("id") or (body.get("user") or {}).get("team_id"),
        enterprise.get("id") if isinstance(enterprise, dict) else None,
        body.get("is_enterprise_install"),
    )


def check_settings(settings: Settings) -> None:
    """Refuse configurations that cannot work, naming the setting but never its value."""
    if settings.slack_bot_token is None:
        raise SlackStartupError(
            "SLACK_BOT_TOKEN is not set.",
            hint="Copy the Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions page.",
        )
    if not settings.slack_bot_token.get_secret_value().startswith("xoxb-"):
        raise SlackStartupError(
            "SLACK_BOT_TOKEN is not a bot token (it must start with xoxb-).",
            hint="Use the Bot User OAuth Token from OAuth & Permissions.",
        )
    if settings.slack_app_token is not None:
        if not settings.slack_app_token.get_secret_value().startswith("xapp-"):
            raise SlackStartupError(
                "SLACK_APP_TOKEN is not an app-level token (it must start with xapp-).",
                hint="Create one with the connections:write scope under Basic Information.",
            )
    elif settings.slack_signing_secret is None:
        raise SlackStartupError(
            "HTTP mode needs SLACK_SIGNING_SECRET to verify requests from Slack.",
            hint="Copy it from Basic Information > App Credentials, or set SLACK_APP_TOKEN "
            "to use Socket Mode instead.",
        )


class SlackAdapter:
    """Runs the Bolt app (Socket Mode or HTTP) and answers `/episodes`."""

    platform = "slack"

    def __init__(
        self,
        settings: Settings,
        commands: Any,
        *,
        sender: SlackSender | None = None,
        host: str = "0.0.0.0",
        port: int | None = None,
        replay_clock: Callable[[], float] = time.time,
        socket_connect_timeout: float = SOCKET_CONNECT_TIMEOUT,
        history_budget: RequestBudget | None = None,
    ) -> None:
        check_settings(settings)
        assert settings.slack_bot_token is not None  # checked above
        self.settings = settings
        self.commands = commands
        self.host = host
        self.port = settings.slack_port if port is None else port
        self.socket_mode = settings.slack_app_token is not None
        self.socket_connect_timeout = socket_connect_timeout
        token = settings.slack_bot_token.get_secret_value()
        client_kwargs: dict[str, Any] = {"token": token}
        if settings.slack_api_base:
            client_kwargs["base_url"] = settings.slack_api_base
        self.client = AsyncWebClient(**client_kwargs)
        self.sender = sender or SlackSender(
            token,
            base_url=settings.slack_api_base,
            store=getattr(commands, "store", None),
            history_budget=history_budget,
        )
        secret = settings.slack_signing_secret
        self.app = AsyncApp(
            client=self.client,
            signing_secret=secret.get_secret_value() if secret else "",
            request_verification_enabled=not self.socket_mode,
            name="episode-bot",
        )
        # (tenant, user id) -> (expiry, is admin): a user id is only meaningful within its
        # workspace (or org), so the answer for one tenant never stands in for another.
        self._admin_cache: dict[tuple[str, str], tuple[float, bool]] = {}
        self._runner: web.AppRunner | None = None
        self._socket: Any = None
        # HTTP mode only: Socket Mode requests arrive over our own authenticated websocket.
        self._gate = (
            RequestGate(secret.get_secret_value(), commands.store, replay_clock)
            if secret is not None and not self.socket_mode
            else None
        )
        # The one workspace (or Enterprise Grid organisation) this bot token belongs to,
        # from auth.test at start-up: requests naming another are refused.
        self.installed: Installation | None = None
        self._register()

    # ---------------------------------------------------------------- wiring

    def _register(self) -> None:
        self.app.middleware(self._only_the_installed_workspace)
        self.app.command("/episodes")(self._on_episodes)
        self.app.event("app_uninstalled")(self._on_app_uninstalled)
        self.app.event("tokens_revoked")(self._on_tokens_revoked)
        self.app.action("episode_link")(self._on_link_clicked)
        self.app.action(FOLLOW_ACTION)(self._on_follow_clicked)
        self.app.action(UNFOLLOW_ACTION)(self._on_unfollow_clicked)
        self.app.view(modal.CALLBACK_ID)(self._on_season_form_submitted)
        self.app.options(modal.SHOW_ACTION)(self._on_show_suggestion)

    def web_app(self) -> web.Application:
        """The aiohttp application for HTTP mode (also handy for tests)."""
        app = web.Application()
        app.router.add_post(EVENTS_PATH, self._handle_http)
        return app

    async def _handle_http(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self._gate is None:  # HTTP mode without a secret is refused at start-up anyway
            return web.json_response({"error": "invalid request"}, status=401)
        refusal = self._gate.check(body, request.headers)
        if refusal is not None:
            return refusal
        bolt_request = AsyncBoltRequest(
            body=body.decode("utf-8"), query=request.query_string, headers=request.headers
        )
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    async def _only_the_installed_workspace(
        self, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[Any]]
    ) -> Any:
        """Bolt middleware (both modes): one bot token serves one workspace or organisation.

        A request signed with our secret but naming another team (the app installed
        elsewhere, or a forged team id over Socket Mode) is refused before any listener runs.
        """
        context = req.context
        if self.installed is None or self.installed.serves(context.team_id, context.enterprise_id):
            return await next()
        log.info("Slack: refused a request from another workspace (%s)", context.team_id)
        if isinstance(req.body, dict) and req.body.get("command"):
            return BoltResponse(
                status=200,
                body=json.dumps(_ephemeral(render_reply_text(OTHER_WORKSPACE))),
                headers={"content-type": "application/json"},
            )
        return BoltResponse(status=403, body='{"error":"another workspace"}')

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Check the token with auth.test, then listen (Socket Mode or HTTP)."""
        self.installed = Installation.from_auth_test(await self._auth_test())
        if self.socket_mode:
            await self._connect_socket_mode()
            log.info("Slack: connected in Socket Mode")
            return
        self._runner = web.AppRunner(self.web_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        if server is not None and getattr(server, "sockets", None):
            self.port = server.sockets[0].getsockname()[1]
        log.info("Slack: HTTP mode on port %s, path %s", self.port, EVENTS_PATH)

    async def _connect_socket_mode(self) -> None:
        """Open the Socket Mode websocket and wait for Slack's `hello`.

        slack_sdk's `SocketModeClient.connect()` never gives up: when apps.connections.open
        refuses the app token it logs and retries forever, so start-up would hang instead of
        stopping. The URL is therefore asked for here, once, with the same client; a refusal
        stops start-up with the error code (never the token), and the URL obtained is handed
        to the client so it connects without asking again. Later reconnects are slack_sdk's.
        """
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        assert self.settings.slack_app_token is not None
        app_token = self.settings.slack_app_token.get_secret_value()
        try:
            opened = await self.client.apps_connections_open(app_token=app_token)
        except SlackApiError as error:
            raise SlackStartupError(
                f"Slack refused SLACK_APP_TOKEN ({_code(error)}).",
                hint="Create an app-level token with connections:write and enable "
                "Socket Mode in the app settings.",
            ) from None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise self._unreachable(error) from None
        url = opened.get("url")
        if not isinstance(url, str) or not url:
            raise SlackStartupError("Slack's apps.connections.open answered without a URL.")

        hello = asyncio.Event()

        async def on_message(client: Any, message: dict[str, Any], raw: str | None) -> None:
            if message.get("type") == "hello":
                hello.set()

        handler = AsyncSocketModeHandler(self.app, app_token)
        handler.client.message_listeners.append(on_message)
        handler.client.wss_uri = url  # connect() uses it instead of asking for another
        self._socket = handler

        async def connected() -> None:
            await handler.connect_async()
            await hello.wait()

        try:
            await asyncio.wait_for(connected(), self.socket_connect_timeout)
        except TimeoutError:
            self._socket = None
            await handler.close_async()
            raise SlackStartupError(
                f"No Socket Mode connection to Slack within {self.socket_connect_timeout:g} "
                "seconds.",
                hint="Check that outgoing websocket (wss://) connections to Slack are allowed.",
            ) from None

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.sender.close()

    def on_schedule_changed(self) -> None:
        """Nothing on Slack mirrors the schedule (no scheduled events there)."""

    async def _auth_test(self) -> dict[str, Any]:
        try:
            response = await self.client.auth_test()
        except SlackApiError as error:
            raise SlackStartupError(
                f"Slack refused SLACK_BOT_TOKEN ({_code(error)}).",
                hint="Reinstall the app and copy the Bot User OAuth Token (xoxb-…) again.",
            ) from None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise self._unreachable(error) from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    def _unreachable(self, error: BaseException) -> SlackStartupError:
        where = self.settings.slack_api_base or "https://slack.com/api/"
        return SlackStartupError(
            f"Cannot reach the Slack Web API at {where} ({type(error).__name__}).",
            hint="Check the network, or SLACK_API_BASE if you set it.",
        )

    # ---------------------------------------------------------------- listeners

    async def _on_episodes(
        self, ack: Any, body: dict[str, Any], respond: Any, context: Any
    ) -> None:
        await ack()  # within Slack's 3 seconds; the answer follows through response_url
        try:
            answer = await self.handle_command(body, context)
        except Exception:  # never leave the user without an answer
            log.exception("Slack /episodes failed")
            answer = {
                "text": "Something went wrong on our side. Please try again later.",
                "response_type": "ephemeral",
            }
        if answer is not None:
            await respond(**answer)

    async def handle_command(self, body: dict[str, Any], context: Any) -> dict[str, Any] | None:
        """One `/episodes` invocation -> the keyword arguments for `respond()`.

        None when the answer is a modal (`admin season add` with no arguments).
        """
        try:
            text = str(body.get("text") or "")
            if grammar.opens_season_form(text):
                return await self._open_season_form(body, context)
            parsed = grammar.parse(text)
            command = parsed.command
            if command is None:
                return _ephemeral(grammar.help_text())
            tenant = tenant_of(
                body.get("team_id") or context.get("team_id"),
                body.get("enterprise_id") or context.get("enterprise_id"),
                body.get("is_enterprise_install", context.get("is_enterprise_install")),
            )
            user_id = str(body.get("user_id") or "")
            is_admin = await self._is_admin(tenant, user_id)
            if parsed.admin:
                _require_admin(is_admin)
            if parsed.args.get("mention") and not (
                is_admin or user_id in self.settings.slack_mention_users
            ):
                raise PermissionDenied(
                    "Only workspace admins can make posts ping a user group.",
                    hint="Subscribe without --mention, or ask an admin (or the bot's operator: "
                    "SLACK_MENTION_USER_IDS).",
                )
            actor = Actor("slack", tenant, user_id, is_admin=is_admin)
            args = dict(parsed.args)
            if command.chat_channel:
                channel_id = str(body.get("channel_id") or "")
                if command in (catalogue.SUBSCRIBE, catalogue.DIGEST):
                    await self._check_membership(channel_id)
                args["channel"] = ChannelRef("slack", tenant, channel_id)
            return render_reply(await command.invoke_async(self.commands, actor, **args))
        except BotError as error:
            return _ephemeral(render_reply_text(str(error)))

    # ---------------------------------------------------------------- the season modal

    async def _open_season_form(self, body: dict[str, Any], context: Any) -> dict[str, Any] | None:
        """`/episodes admin season add` alone: open the modal (admins only)."""
        tenant = tenant_of(
            body.get("team_id") or context.get("team_id"),
            body.get("enterprise_id") or context.get("enterprise_id"),
            body.get("is_enterprise_install", context.get("is_enterprise_install")),
        )
        user_id = str(body.get("user_id") or "")
        _require_admin(await self._is_admin(tenant, user_id))
        actor = Actor("slack", tenant, user_id, is_admin=True)
        titles = self.commands.complete_show_titles(actor, "", limit=modal.STATIC_LIMIT + 1)
        if not titles:
            raise BotError(
                "There are no shows to add a season to yet.",
                hint='Add one first: /episodes admin show add "For All Mankind"',
            )
        view = modal.season_form(titles, channel_id=str(body.get("channel_id") or ""), team=tenant)
        try:
            await self.client.views_open(trigger_id=str(body.get("trigger_id") or ""), view=view)
        except SlackApiError as error:
            log.warning("Slack views.open failed (%s)", _code(error))
            raise BotError(
                f"Slack did not open the form ({_code(error)}).",
                hint="Try again, or type the whole command: "
                + grammar.usage_of(("admin", "season", "add")),
            ) from None
        return None

    async def _on_season_form_submitted(
        self, ack: Any, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        """The modal was submitted: the same checks and core call as the typed command.

        An error is shown on the input it concerns and the modal stays open; on success the
        modal closes and the core's answer goes to the submitter, ephemerally, in the channel
        the command was typed in.
        """
        try:
            reply, channel_id, user_id = await self._submit_season_form(body, view)
        except BotError as error:
            block = modal.error_block(error)
            await ack(
                response_action="errors",
                errors={block: fit(str(error), modal.ERROR_LIMIT)},
            )
            return
        except Exception:  # answer Slack anyway, or the user sees a generic failure
            log.exception("Slack season form failed")
            await ack(
                response_action="errors",
                errors={modal.SHOW: "Something went wrong on our side. Please try again later."},
            )
            return
        await ack(response_action="clear")
        answer = render_reply(reply)
        await self._tell(channel_id, user_id, answer["text"], answer["blocks"])

    async def _submit_season_form(
        self, body: dict[str, Any], view: dict[str, Any]
    ) -> tuple[Any, str, str]:
        user = body.get("user") or {}
        tenant = interaction_tenant(body)
        user_id = str(user.get("id") or "")
        _require_admin(await self._is_admin(tenant, user_id))
        metadata = modal.metadata_of(view)
        if metadata.get("team") != tenant:
            raise PermissionDenied(
                "This form was opened for another workspace.",
                hint="Open it again with /episodes admin season add in this workspace.",
            )
        actor = Actor("slack", tenant, user_id, is_admin=True)
        reply = catalogue.SEASON_ADD.invoke(self.commands, actor, **modal.form_args(view))
        return reply, metadata.get("channel", ""), user_id

    async def _tell(
        self, channel_id: str, user_id: str, text: str, blocks: list[dict[str, Any]]
    ) -> None:
        """An answer for one user: ephemeral in the channel, else in the app's DM."""
        if channel_id:
            try:
                await self.client.chat_postEphemeral(
                    channel=channel_id, user=user_id, text=text, blocks=blocks
                )
                return
            except SlackApiError as error:
                log.info("Slack chat.postEphemeral failed (%s); sending a DM", _code(error))
        try:
            await self.client.chat_postMessage(channel=user_id, text=text, blocks=blocks)
        except SlackApiError as error:
            log.warning("Slack could not tell the user the outcome (%s)", _code(error))

    async def _on_show_suggestion(self, ack: Any, body: dict[str, Any]) -> None:
        """Options for the modal's show picker when a workspace sees more than 100 shows."""
        try:
            tenant = interaction_tenant(body)
            actor = Actor("slack", tenant, str((body.get("user") or {}).get("id") or ""))
            query = str(body.get("value") or "")[:200]
            titles = self.commands.complete_show_titles(actor, query, limit=modal.STATIC_LIMIT)
        except BotError:
            titles = []
        await ack(options=modal.show_options(titles))

    # ---------------------------------------------------------------- events

    async def _on_app_uninstalled(self, context: Any) -> None:
        self._pause(context, "the Slack app was uninstalled from this workspace")

    async def _on_tokens_revoked(self, event: dict[str, Any], context: Any) -> None:
        if (event.get("tokens") or {}).get("bot"):
            self._pause(context, "the Slack bot token was revoked")

    async def _on_link_clicked(self, ack: Any) -> None:
        await ack()  # a link button still sends an interaction; acknowledge it, nothing else

    async def _on_follow_clicked(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        """ "Notify me" on a post: the clicker follows the show; only they see the answer."""
        await ack()
        await respond(**await self._button(body, "follow"))

    async def _on_unfollow_clicked(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        """ "Unfollow" in a follower's DM."""
        await ack()
        await respond(**await self._button(body, "unfollow"))

    async def _button(self, body: dict[str, Any], method: str) -> dict[str, Any]:
        """A block_actions click -> the core call for the clicking member -> an ephemeral
        answer that leaves the post itself as it is."""
        try:
            user = body.get("user") or {}
            tenant = interaction_tenant(body)
            [action] = body.get("actions") or [{}]
            value = str(action.get("value") or "")
            if not value.isdigit():
                raise BotError("That button is out of date.", hint="Use /episodes follow SHOW.")
            actor = Actor("slack", tenant, str(user.get("id") or ""))
            answer = render_reply(getattr(self.commands, method)(actor, int(value)))
        except BotError as error:
            answer = _ephemeral(render_reply_text(str(error)))
        except Exception:  # never leave the member without an answer
            log.exception("Slack %s button failed", method)
            answer = _ephemeral("Something went wrong on our side. Please try again later.")
        return {**answer, "response_type": "ephemeral", "replace_original": False}

    def _pause(self, context: Any, reason: str) -> None:
        tenant = tenant_of(
            context.get("team_id"),
            context.get("enterprise_id"),
            context.get("is_enterprise_install"),
        )
        paused = self.commands.pause_tenant("slack", tenant, reason)
        log.warning("Slack: paused %s subscription(s) of %s: %s", paused, tenant, reason)

    # ---------------------------------------------------------------- Slack facts

    async def _is_admin(self, tenant: str, user_id: str) -> bool:
        """Workspace admin/owner (users.info) or listed in SLACK_ADMIN_USER_IDS.

        users.info answers are cached for ADMIN_CACHE_SECONDS per (tenant, user): the same
        user id seen from another workspace or org is looked up on its own.

        SLACK_ADMIN_USER_IDS is global on purpose: it is the operator's list for this
        deployment (typically one workspace), and a listed id is an admin in every tenant the
        bot serves. Slack user ids are unique across workspaces, so this only matters when one
        deployment serves several workspaces: list only people trusted in all of them.
        """
        if not user_id:
            return False
        if user_id in self.settings.slack_admins:
            return True
        now = time.monotonic()
        key = (tenant, user_id)
        cached = self._admin_cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            user = (await self.client.users_info(user=user_id)).get("user") or {}
        except SlackApiError as error:
            log.warning("Slack users.info failed (%s); treating the user as a member", _code(error))
            return False
        is_admin = bool(
            not user.get("deleted")
            and _same_tenant(user, tenant)
            and (user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        )
        self._admin_cache[key] = (now + ADMIN_CACHE_SECONDS, is_admin)
        return is_admin

    async def _check_membership(self, channel_id: str) -> None:
        """Posting needs the bot in the channel: say how to invite it, before subscribing."""
        try:
            channel = (await self.client.conversations_info(channel=channel_id)).get("channel")
        except SlackApiError as error:
            if _code(error) in ("channel_not_found", "not_in_channel"):
                raise BotError("I cannot see this channel.", hint=INVITE_HINT) from None
            log.warning("Slack conversations.info failed (%s); subscribing anyway", _code(error))
            return
        channel = channel or {}
        if channel.get("is_archived"):
            raise BotError("This channel is archived.", hint="Subscribe an active channel.")
        if not channel.get("is_member"):
            raise BotError("I am not a member of this channel.", hint=INVITE_HINT)


def _require_admin(is_admin: bool) -> None:
    if not is_admin:
        raise PermissionDenied(
            "Only workspace admins and owners can use admin commands.",
            hint="Ask one of them, or ask the bot's operator to add your user id "
            "to SLACK_ADMIN_USER_IDS.",
        )


def _ephemeral(text: str) -> dict[str, Any]:
    """An answer for the asker only; `text` is escaped Slack text (errors echo user text)."""
    return {"text": text, "blocks": verbatim_blocks(text), "response_type": "ephemeral"}


def _code(error: SlackApiError) -> str:
    data = getattr(error.response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"HTTP {getattr(error.response, 'status_code', '?')}"


OTHER_WORKSPACE = (
    "This bot serves another Slack workspace: nothing was done. Ask your workspace's "
    "admins to install their own."
)


@dataclass(frozen=True)
class Installation:
    """Where this bot token is installed (auth.test): a workspace, or for an org-wide
    Enterprise Grid installation the whole organisation."""

    team_id: str | None
    enterprise_id: str | None
    org_wide: bool

    @classmethod
    def from_auth_test(cls, answer: dict[str, Any]) -> Installation:
        return cls(
            team_id=answer.get("team_id") or None,
            enterprise_id=answer.get("enterprise_id") or None,
            org_wide=answer.get("is_enterprise_install") is True,
        )

    def serves(self, team_id: str | None, enterprise_id: str | None) -> bool:
        if self.org_wide:
            return enterprise_id is not None and enterprise_id == self.enterprise_id
        return team_id is not None and team_id == self.team_id


def _same_tenant(user: dict[str, Any], tenant: str) -> bool:
    """users.info's user belongs to the request's tenant (its workspace, or for an org-wide
    install its organisation): admin rights in one workspace mean nothing in another."""
    organisation = (user.get("enterprise_user") or {}).get("enterprise_id")
    return tenant in (user.get("team_id"), organisation)
