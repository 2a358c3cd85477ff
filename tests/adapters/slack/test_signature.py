"""Request verification: Slack's documented test vector, and the running app refusing forged,
stale and replayed requests with 401 without touching the core."""

from __future__ import annotations

import json
import time
from pathlib import Path

from slack_sdk.signature import SignatureVerifier

from tests.adapters.slack.conftest import SlackHarness, sign

VECTOR = json.loads(
    (
        Path(__file__).resolve().parents[3] / "fakes" / "slack_payloads" / "signature_vector.json"
    ).read_text()
)


class _FrozenClock:
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def test_documented_signature_vector() -> None:
    verifier = SignatureVerifier(VECTOR["signing_secret"], _FrozenClock(int(VECTOR["timestamp"])))
    body, ts = VECTOR["body"], VECTOR["timestamp"]
    assert verifier.generate_signature(timestamp=ts, body=body) == VECTOR["signature"]
    assert verifier.is_valid(body, ts, VECTOR["signature"])
    headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": VECTOR["signature"]}
    assert verifier.is_valid_request(body, headers)


def test_documented_vector_is_stale_after_five_minutes() -> None:
    later = _FrozenClock(int(VECTOR["timestamp"]) + 5 * 60 + 1)
    verifier = SignatureVerifier(VECTOR["signing_secret"], later)
    assert not verifier.is_valid(VECTOR["body"], VECTOR["timestamp"], VECTOR["signature"])


def _admin_add(slack: SlackHarness, key: str = "x") -> str:
    return slack.command_body('admin show add "Forged Show"', user="UADMIN", key=key)


async def _nothing_changed(slack: SlackHarness) -> None:
    assert slack.store.visible_shows("slack:T0001") == []
    assert slack.api.responses == []
    assert slack.api.calls["users.info"] == 0


async def test_wrong_signature_is_refused(slack: SlackHarness) -> None:
    body = _admin_add(slack)
    headers = sign(body, secret="not-the-signing-secret")
    assert await slack.post(body, headers, "application/x-www-form-urlencoded") == 401
    await _nothing_changed(slack)


async def test_tampered_body_is_refused(slack: SlackHarness) -> None:
    body = _admin_add(slack)
    headers = sign(body)
    tampered = body.replace("Forged", "Tampered")
    assert await slack.post(tampered, headers, "application/x-www-form-urlencoded") == 401
    await _nothing_changed(slack)


async def test_stale_timestamp_is_refused(slack: SlackHarness) -> None:
    body = _admin_add(slack)
    headers = sign(body, timestamp=int(time.time()) - 5 * 60 - 30)
    assert await slack.post(body, headers, "application/x-www-form-urlencoded") == 401
    await _nothing_changed(slack)


async def test_missing_signature_is_refused(slack: SlackHarness) -> None:
    body = _admin_add(slack)
    assert await slack.post(body, {}, "application/x-www-form-urlencoded") == 401
    await _nothing_changed(slack)


async def test_replayed_request_is_refused(slack: SlackHarness) -> None:
    body = slack.command_body("shows", user="UMEMBER", key="1")
    headers = sign(body)
    assert await slack.post(body, headers, "application/x-www-form-urlencoded") == 200
    await slack.api.wait_for_responses(1)
    assert await slack.post(body, headers, "application/x-www-form-urlencoded") == 401
    # The replayed body under a fresh timestamp but the old signature is refused too.
    stale_sig = {**headers, "X-Slack-Request-Timestamp": str(int(time.time()) + 1)}
    assert await slack.post(body, stale_sig, "application/x-www-form-urlencoded") == 401
    assert len(slack.api.responses) == 1
