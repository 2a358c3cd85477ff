"""One classifier turns a platform's refusal (HTTP status + error code) into what the engine
does: wait and retry, pause the channel, wait for the operator's token, or fail one post."""

from __future__ import annotations

import pytest

from bot.sender import (
    ErrorTable,
    Failure,
    PermanentSendError,
    SenderUnavailableError,
    TransientSendError,
    classify_failure,
)

TABLE = ErrorTable(
    platform="Chat",
    codes={
        "ratelimited": (Failure.RATE_LIMITED, ""),
        "internal_error": (Failure.TRANSIENT, "Chat error: internal_error"),
        "invalid_auth": (Failure.TOKEN, "set a valid CHAT_TOKEN"),
        10003: (Failure.CHANNEL, "channel not found"),
        "msg_too_long": (Failure.PAYLOAD, "the message is too long"),
    },
    token_reason="the token was refused: set CHAT_TOKEN",
    by_status={404: (Failure.CHANNEL, "not found")},
)


def test_rate_limits_wait_what_the_platform_says():
    for status, code in ((429, None), (200, "ratelimited")):
        error = classify_failure(TABLE, status, code, retry_after=7.5)
        assert type(error) is TransientSendError
        assert (error.reason, error.retry_after) == ("rate limited by Chat", 7.5)


@pytest.mark.parametrize(
    ("status", "code"), [(500, None), (503, "msg_too_long"), (200, "internal_error")]
)
def test_server_errors_are_transient_without_a_wait_of_their_own(status, code):
    error = classify_failure(TABLE, status, code, retry_after=1.0)
    assert type(error) is TransientSendError and error.retry_after is None


@pytest.mark.parametrize(("status", "code"), [(401, None), (200, "invalid_auth")])
def test_a_refused_token_pauses_nothing_and_says_what_to_mend(status, code):
    error = classify_failure(TABLE, status, code)
    assert isinstance(error, SenderUnavailableError) and "CHAT_TOKEN" in error.reason


@pytest.mark.parametrize(("status", "code"), [(403, 10003), (404, 0), (200, 10003)])
def test_channel_problems_pause_the_subscription(status, code):
    error = classify_failure(TABLE, status, code)
    assert isinstance(error, PermanentSendError) and error.pause is True


@pytest.mark.parametrize(
    ("status", "code"), [(200, "msg_too_long"), (400, 50035), (200, "new_code")]
)
def test_a_refused_payload_or_an_unknown_code_fails_the_post_only(status, code):
    error = classify_failure(TABLE, status, code)
    assert isinstance(error, PermanentSendError) and error.pause is False
    assert error.reason
