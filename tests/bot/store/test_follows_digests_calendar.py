"""Any store: follows (subscriptions of a member's DMs), weekly digests, calendar tokens."""

from __future__ import annotations

import hashlib
from datetime import time, timedelta

from bot.keys import NotificationKey
from bot.models import Audience, ChannelRef, Digest, UserRef
from bot.store import Store
from tests.bot.store.conftest import NOW, add_season, add_show, notification, subscribe

MEMBER = UserRef.parse("discord-user:42")


def test_a_follow_is_kept_apart_from_channel_subscriptions(store: Store):
    show = add_show(store)
    channel = subscribe(store, "discord:1/10", show)
    follow, created = store.follow(MEMBER, show, reminders=[3600], followed_in="discord:1",
                                   actor="t", now=NOW)  # fmt: skip
    assert created and follow.channel == MEMBER.inbox and follow.channel.is_direct
    assert [s.id for s in store.subscriptions()] == [channel.id]
    assert [s.id for s in store.subscriptions(direct=True)] == [follow.id]
    assert [s.id for s in store.subscriptions(direct=None)] == [channel.id, follow.id]
    [page] = store.audience_pages(show_ids=[show.id], page_size=10, direct=True)
    assert page.audiences == {Audience.of(follow): (follow.id,)}
    assert Audience.of(channel) not in page.audiences
    assert [(s.id, where) for s, where in store.follows(MEMBER)] == [(follow.id, "discord:1")]
    assert store.unfollow(MEMBER, show, actor="t", now=NOW)
    assert store.follows(MEMBER) == []


def test_forgetting_a_member_removes_their_follows_and_unsent_posts(store: Store):
    show = add_show(store)
    follow, _ = store.follow(MEMBER, show, reminders=[], followed_in="discord:1", actor="t",
                             now=NOW)  # fmt: skip
    store.insert_notifications([notification(follow)], NOW)
    assert store.forget_user(MEMBER, now=NOW) == (1, 1)
    assert store.follows(MEMBER) == [] and store.outbox() == []


def test_a_channel_has_one_digest_set_replaced_and_removed(store: Store):
    channel = ChannelRef.parse("console:general")
    first = Digest(channel, weekday=0, at=time(9), timezone="UTC", only=False)
    assert store.set_digest(first, actor="t", now=NOW) is True
    second = Digest(channel, weekday=4, at=time(18, 30), timezone="Europe/Paris", only=True)
    assert store.set_digest(second, actor="t", now=NOW) is False
    assert store.digests() == [second] == store.digests(channel)
    assert store.remove_digest(channel, actor="t", now=NOW) is True
    assert store.remove_digest(channel, actor="t", now=NOW) is False
    assert store.digests() == []


def test_a_new_calendar_token_replaces_the_old_one(store: Store):
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    store.replace_calendar_token("discord:1/10", "old-token", NOW)
    store.replace_calendar_token("discord:1/10", "new-token", NOW)
    assert store.calendar_token("discord:1/10") == "new-token"
    assert store.calendar_token_by_digest(digest("new-token")) == ("discord:1/10", "new-token")
    assert store.calendar_token_by_digest(digest("old-token")) is None
    later = NOW + timedelta(hours=1)
    episode = store.episodes_of(add_season(store, add_show(store)).id)[0]
    store.save_calendar_revisions([(episode.id, "abc", 2, later)])
    assert store.calendar_revisions([episode.id, 999]) == {episode.id: ("abc", 2, later)}


def test_a_digest_is_once_per_channel_and_week_whichever_subscription_carries_it(store: Store):
    one, two = add_show(store, "One"), add_show(store, "Two")
    first = subscribe(store, "discord:1/10", one)
    second = subscribe(store, "discord:1/10", two)
    key = NotificationKey.digest("discord:1/10", "2025-W03")
    assert store.insert_notifications([notification(first, key)], NOW) == 1
    # Planned again on another of the channel's subscriptions: the same digest, not a new one.
    assert store.insert_notifications([notification(second, key)], NOW) == 0
    # Its subscription goes: the row moves to another of the channel's, still there to be
    # found by a re-planned window.
    assert store.unsubscribe(first.channel, one, actor="t", now=NOW)
    [row] = store.outbox()
    assert (row.subscription_id, row.notification_key) == (second.id, key)
    assert store.insert_notifications([notification(second, key)], NOW) == 0
    # The channel's last subscription goes: nothing can plan its digest again, and it goes too.
    assert store.unsubscribe(second.channel, two, actor="t", now=NOW)
    assert store.outbox() == []
