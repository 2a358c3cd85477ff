"""Socket Mode end to end: the real Bolt app and slack_sdk's aiohttp `SocketModeClient` against
the fake Slack API's `apps.connections.open` and websocket.

Nothing of ours is mocked: the adapter opens the connection with the app-level token, the fake
says `hello`, pushes `slash_commands` envelopes the way Slack does, and records the acks the
client sends back over the websocket; the answers arrive at the fake's response_url.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.slack.app import SlackAdapter, SlackStartupError
from bot.commands import Commands
from fakes.slack_api import FakeSlackApi
from tests.adapters.slack.conftest import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, make_settings

WRONG_APP_TOKEN = "xapp-1-A0APP-1-wrong-secret"
FAM = '"For All Mankind"'
DATE = re.compile(r"<!date\^(\d+)\^\{date_short_pretty\} \{time\}\|")


@dataclass
class SocketHarness:
    api: FakeSlackApi
    adapter: SlackAdapter
    _n: int = 0

    async def slash(self, text: str, *, user: str = "UMEMBER", channel: str = "C1") -> dict:
        """Push `/episodes text` over the websocket; check the ack, return the answer."""
        self._n += 1
        key = f"socket-{self._n}"
        envelope_id = await self.api.push_slash_command(
            text, user_id=user, channel_id=channel, key=key
        )
        ack = await self.api.wait_for_ack(envelope_id)
        # Bolt's bare ack(): the envelope id and no payload (the answer follows separately)
        assert ack == {"envelope_id": envelope_id}
        answers = await self.api.wait_for_responses(self._n)
        answer = answers[-1]
        assert answer["_key"] == key
        return answer


def socket_settings(api: FakeSlackApi, app_token: str = APP_TOKEN) -> Any:
    return make_settings(api, slack_app_token=app_token, slack_signing_secret=None)


@pytest.fixture
async def socket(api: FakeSlackApi, commands: Commands) -> AsyncIterator[SocketHarness]:
    adapter = SlackAdapter(socket_settings(api), commands)
    await adapter.start()
    try:
        yield SocketHarness(api, adapter)
    finally:
        await adapter.stop()


async def test_connects_with_the_app_token_and_gets_hello(socket: SocketHarness) -> None:
    api = socket.api
    opened = api.requests_for("apps.connections.open")
    assert len(opened) == 1  # one URL, used for the one connection
    assert opened[0].authorization == f"Bearer {APP_TOKEN}"
    assert api.requests_for("auth.test")[0].authorization == f"Bearer {BOT_TOKEN}"
    [connection] = await api.wait_for_sockets(opened=1)
    assert not connection.closed
    assert socket.adapter.socket_mode
    assert socket.adapter._runner is None  # no HTTP server in Socket Mode


async def test_shows_is_acked_and_answered_ephemerally(socket: SocketHarness) -> None:
    answer = await socket.slash("shows")
    assert answer["response_type"] == "ephemeral"
    assert answer["text"]


async def test_admin_adds_fam_and_schedule_lists_ten_fridays(socket: SocketHarness) -> None:
    add_show = await socket.slash(
        f"admin show add {FAM} --tz America/New_York --time 00:00", user="UADMIN"
    )
    assert "Added For All Mankind" in add_show["text"]
    assert add_show["response_type"] == "ephemeral"

    add_season = await socket.slash(
        f"admin season add {FAM} 4 --premiere 2023-11-10 --episodes 10 --every friday",
        user="UADMIN",
    )
    assert "10 episodes" in add_season["text"]

    shows = await socket.slash("shows")
    assert "For All Mankind" in shows["text"]

    schedule = await socket.slash(f"schedule {FAM}")
    assert schedule["response_type"] == "ephemeral"
    assert len(DATE.findall(schedule["text"])) == 10


async def test_member_admin_command_is_refused_over_the_socket(socket: SocketHarness) -> None:
    answer = await socket.slash(f"admin show add {FAM}", user="UMEMBER")
    assert "Only workspace admins" in answer["text"]
    assert answer["response_type"] == "ephemeral"
    assert "For All Mankind" not in (await socket.slash("shows"))["text"]


async def test_stop_closes_the_connection_cleanly(api: FakeSlackApi, commands: Commands) -> None:
    adapter = SlackAdapter(socket_settings(api), commands)
    await adapter.start()
    [connection] = await api.wait_for_sockets(opened=1)
    await adapter.stop()
    await api.wait_for_sockets(opened=1, closed=1)
    assert connection.closed and not connection.closed_by_server
    assert connection.close_code == 1000  # a normal close from the app's side
    # no reconnection after stop
    assert len(api.requests_for("apps.connections.open")) == 1
    assert len(api.sockets) == 1
    assert api.open_sockets() == []


async def test_wrong_app_token_stops_start_up_without_showing_it(
    api: FakeSlackApi, commands: Commands
) -> None:
    adapter = SlackAdapter(socket_settings(api, WRONG_APP_TOKEN), commands)
    with pytest.raises(SlackStartupError, match=r"SLACK_APP_TOKEN.*invalid_auth") as caught:
        await adapter.start()
    text = str(caught.value) + repr(caught.value)
    for secret in (WRONG_APP_TOKEN, BOT_TOKEN, SIGNING_SECRET):
        assert secret not in text
    [request] = api.requests_for("apps.connections.open")
    assert request.authorization == f"Bearer {WRONG_APP_TOKEN}"
    assert api.sockets == []
    await adapter.stop()


async def test_revoked_app_token_stops_start_up(api: FakeSlackApi, commands: Commands) -> None:
    api.revoke(APP_TOKEN)
    adapter = SlackAdapter(socket_settings(api), commands)
    with pytest.raises(SlackStartupError, match="token_revoked") as caught:
        await adapter.start()
    assert APP_TOKEN not in str(caught.value)
    assert api.sockets == []
    await adapter.stop()


async def test_websocket_that_never_opens_stops_start_up(
    api: FakeSlackApi, commands: Commands
) -> None:
    """slack_sdk retries a failed handshake forever; start-up gives up after its timeout."""
    api.refuse_sockets = True
    adapter = SlackAdapter(socket_settings(api), commands, socket_connect_timeout=0.5)
    with pytest.raises(SlackStartupError, match="No Socket Mode connection") as caught:
        await adapter.start()
    assert APP_TOKEN not in str(caught.value)
    assert api.sockets == []
    assert len(api.requests_for("apps.connections.open")) == 1
    await adapter.stop()
