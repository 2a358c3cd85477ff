"""Subscribing a channel again changes only the options given, and says what changed."""

from __future__ import annotations

from bot.models import ChannelRef
from tests.conftest import OPERATOR, add_fam

GENERAL = ChannelRef.parse("console:general")
FAM = "For All Mankind"


def only_subscription(store):
    (subscription,) = store.subscriptions(channel=GENERAL)
    return subscription


def test_resubscribing_without_options_keeps_them_all(commands, store):
    add_fam(commands)
    commands.subscribe(
        OPERATOR, GENERAL, FAM, before="1d,1h", trailers=False, mention="123", hide_titles=True
    )
    reply = commands.subscribe(OPERATOR, GENERAL, FAM)
    kept = only_subscription(store)
    assert kept.reminders == (86400, 3600)
    assert kept.trailers is False
    assert kept.mention == "123"
    assert kept.hide_titles is True
    assert "Nothing changed" in reply.text


def test_resubscribing_changes_only_what_is_given_and_says_what(commands, store):
    add_fam(commands)
    commands.subscribe(OPERATOR, GENERAL, FAM, before="1h")
    reply = commands.subscribe(OPERATOR, GENERAL, FAM, trailers=False)
    changed = only_subscription(store)
    assert changed.reminders == (3600,)
    assert changed.trailers is False
    first_line = reply.text.splitlines()[0]
    assert "trailers off" in first_line
    assert "reminders" not in first_line.split("(")[0]  # unchanged, so not reported as a change

    reply = commands.subscribe(OPERATOR, GENERAL, FAM, before="1d")
    assert only_subscription(store).reminders == (86400,)
    assert "reminders 1h -> 1d" in reply.text

    reply = commands.subscribe(OPERATOR, GENERAL, FAM, before="")  # empty: no reminders
    assert only_subscription(store).reminders == ()
    assert "reminders 1d -> none" in reply.text


def test_resubscribing_a_paused_subscription_resumes_it_and_says_so(commands, store):
    add_fam(commands)
    commands.subscribe(OPERATOR, GENERAL, FAM, before="1h")
    commands.pause_channel(GENERAL, "the channel was deleted")
    reply = commands.subscribe(OPERATOR, GENERAL, FAM)
    assert only_subscription(store).paused_reason is None
    assert only_subscription(store).reminders == (3600,)
    assert "resumed" in reply.text
