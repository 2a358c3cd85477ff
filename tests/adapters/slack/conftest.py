"""Fixtures: a fake Slack Web API, the real core (in-memory store), and the real Bolt app.

Slash commands are sent the way Slack sends them: a form-encoded body, signed with the
signing secret (v0 HMAC-SHA256 over `v0:{timestamp}:{body}`), POSTed to the adapter's own
aiohttp server at /slack/events. The answer arrives at the fake's response_url.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier

from adapters.slack.app import SlackAdapter
from bot.clock import FixedClock
from bot.commands import Commands
from bot.settings import Settings
from bot.store import Store, open_store
from fakes.slack_api import FakeSlackApi

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-A0APP-1-socket-secret"  # Socket Mode (tests/slack/test_socket_mode.py)
TEAM = "T0001"


def make_settings(api: FakeSlackApi, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_app_token": None,
        "slack_api_base": api.base_url,
        "slack_admin_user_ids": "",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def sign(body: str, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": str(signature),
    }


@dataclass
class SlackHarness:
    api: FakeSlackApi
    adapter: SlackAdapter
    commands: Commands
    store: Store
    http: aiohttp.ClientSession
    _n: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.adapter.port}/slack/events"

    def command_body(
        self, text: str, *, user: str, team: str = TEAM, channel: str = "C1", key: str
    ) -> str:
        return urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": team,
                "team_domain": "test",
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": user.lower(),
                "command": "/episodes",
                "text": text,
                "api_app_id": "A0APP",
                "is_enterprise_install": "false",
                "response_url": self.api.response_url(key),
                "trigger_id": f"trigger.{key}",
            }
        )

    async def post(self, body: str, headers: dict[str, str], content_type: str) -> int:
        headers = {**headers, "Content-Type": content_type}
        async with self.http.post(self.url, data=body.encode(), headers=headers) as response:
            await response.read()
            return response.status

    async def slash(
        self, text: str, *, user: str = "UMEMBER", team: str = TEAM, channel: str = "C1"
    ) -> dict[str, Any]:
        """Send `/episodes text` signed, as Slack does, and return the response_url answer."""
        self._n += 1
        key = str(self._n)
        body = self.command_body(text, user=user, team=team, channel=channel, key=key)
        status = await self.post(body, sign(body), "application/x-www-form-urlencoded")
        assert status == 200
        answers = await self.api.wait_for_responses(self._n)
        answer = answers[-1]
        assert answer["_key"] == key
        return answer

    async def event(self, body: str) -> int:
        return await self.post(body, sign(body), "application/json")


@pytest.fixture
async def api() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi(bot_token=BOT_TOKEN, app_token=APP_TOKEN, team_id=TEAM) as fake:
        fake.add_user("UADMIN", is_admin=True)
        fake.add_user("UOWNER", is_owner=True)
        fake.add_user("UMEMBER")
        fake.add_user("UOTHER", team_id="T0002")
        fake.add_channel("C1", name="general")
        fake.add_channel("CNOTIN", name="random", is_member=False)
        fake.add_channel("CARCH", name="old", is_archived=True)
        yield fake


@pytest.fixture
def store() -> Store:
    return open_store(":memory:")


@pytest.fixture
def commands(store: Store) -> Commands:
    return Commands(store, FixedClock(datetime(2023, 10, 1, 12, 0, tzinfo=UTC)))


@asynccontextmanager
async def running(
    api: FakeSlackApi, commands: Commands, store: Store, **overrides: Any
) -> AsyncIterator[SlackHarness]:
    """The adapter in HTTP mode on a free port, with `make_settings(api, **overrides)`."""
    adapter = SlackAdapter(make_settings(api, **overrides), commands, host="127.0.0.1", port=0)
    await adapter.start()
    try:
        async with aiohttp.ClientSession() as http:
            yield SlackHarness(api, adapter, commands, store, http)
    finally:
        await adapter.stop()


@pytest.fixture
async def slack(api: FakeSlackApi, commands: Commands, store: Store) -> AsyncIterator[SlackHarness]:
    async with running(api, commands, store) as harness:
        yield harness
