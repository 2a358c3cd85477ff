"""Start-up refuses configurations that cannot work, with messages that never show secrets."""

from __future__ import annotations

import pytest

from adapters.slack.app import SlackAdapter, SlackStartupError, tenant_of
from fakes.slack_api import FakeSlackApi
from tests.adapters.slack.conftest import BOT_TOKEN, SIGNING_SECRET, make_settings

SECRETS = (BOT_TOKEN, SIGNING_SECRET, "xoxb-wrong-token-123", "xapp-1-secret")


def _no_secret_in(error: BaseException) -> None:
    text = str(error) + repr(error)
    for secret in SECRETS:
        assert secret not in text


async def test_http_mode_without_signing_secret_stops(api: FakeSlackApi, commands) -> None:
    with pytest.raises(SlackStartupError, match="SLACK_SIGNING_SECRET") as caught:
        SlackAdapter(make_settings(api, slack_signing_secret=None), commands)
    _no_secret_in(caught.value)


async def test_missing_or_malformed_bot_token_stops(api: FakeSlackApi, commands) -> None:
    with pytest.raises(SlackStartupError, match="SLACK_BOT_TOKEN is not set"):
        SlackAdapter(make_settings(api, slack_bot_token=None), commands)
    with pytest.raises(SlackStartupError, match="xoxb-") as caught:
        SlackAdapter(make_settings(api, slack_bot_token="xapp-1-secret"), commands)
    _no_secret_in(caught.value)


async def test_malformed_app_token_stops(api: FakeSlackApi, commands) -> None:
    with pytest.raises(SlackStartupError, match="SLACK_APP_TOKEN") as caught:
        SlackAdapter(make_settings(api, slack_app_token="xoxb-wrong-token-123"), commands)
    _no_secret_in(caught.value)


@pytest.mark.parametrize("code", ["invalid_auth", "token_revoked", "account_inactive"])
async def test_rejected_token_stops_with_clear_message(
    api: FakeSlackApi, commands, code: str
) -> None:
    api.revoke(BOT_TOKEN, code=code)
    adapter = SlackAdapter(make_settings(api), commands, host="127.0.0.1", port=0)
    with pytest.raises(SlackStartupError, match=code) as caught:
        await adapter.start()
    _no_secret_in(caught.value)
    assert api.requests_for("auth.test")[0].authorization == f"Bearer {BOT_TOKEN}"
    await adapter.stop()


async def test_unreachable_api_stops(api: FakeSlackApi, commands) -> None:
    settings = make_settings(api, slack_api_base="http://127.0.0.1:9/api/")
    adapter = SlackAdapter(settings, commands, host="127.0.0.1", port=0)
    with pytest.raises(SlackStartupError, match="Cannot reach") as caught:
        await adapter.start()
    _no_secret_in(caught.value)
    await adapter.stop()


async def test_socket_mode_needs_no_signing_secret(api: FakeSlackApi, commands) -> None:
    settings = make_settings(api, slack_signing_secret=None, slack_app_token="xapp-1-secret")
    adapter = SlackAdapter(settings, commands)
    assert adapter.socket_mode
    await adapter.stop()


def test_tenant_is_workspace_or_org_for_org_wide_installs() -> None:
    assert tenant_of("T1", None, "false") == "T1"
    assert tenant_of("T1", "E1", False) == "T1"
    assert tenant_of("T1", "E1", "true") == "E1"
    assert tenant_of(None, "E1", True) == "E1"
