"""Any store: a broadcast (one post to every member of an audience) written as a set.

The plan decides per audience (`bot/plan.py`); the store must pick exactly the members the
Python rule `Audience.of` would, in the page's id range, tagged in id order.
"""

from __future__ import annotations

from datetime import time, timedelta

from bot.keys import NotificationKey
from bot.models import Audience, ChannelRef, Digest, Season, Subscription, UserRef
from bot.store import AudiencePage, NewBroadcast, Store
from tests.bot.store.conftest import NOW, add_season, add_show, notification, subscribe


def subscribe_with(store: Store, channel: str, show, **settings) -> Subscription:
    options = {"reminders": (), "trailers": True, "mention": None, "hide_titles": False}
    options.update(settings)
    now = options.pop("now", NOW)
    subscription, _ = store.subscribe(
        ChannelRef.parse(channel), show, actor="test", now=now, **options
    )
    return subscription


def broadcast(audience: Audience, key: NotificationKey, season: Season, **fields) -> NewBroadcast:
    row = {
        "notification_key": key, "due_at": NOW, "state": "pending",
        "message_json": '{"title": "S1E1"}', "season_id": season.id, "episode_id": None,
        "last_error": None, "priority": 0, "queue_rank": 0.0, "rank_step": 1.0,
    }  # fmt: skip
    row.update(fields)
    return NewBroadcast(audience=audience, **row)


def whole_page(store: Store, show_ids: list[int], direct: bool = False) -> AudiencePage:
    [page] = store.audience_pages(show_ids=show_ids, page_size=1000, direct=direct)
    return page


def test_each_audience_gets_exactly_the_members_the_python_rule_names(store: Store):
    show, other = add_show(store, "One"), add_show(store, "Two")
    season = add_season(store, show)
    made = [
        subscribe_with(store, "discord:1/10", show),
        subscribe_with(store, "discord:1/11", show, mention="123"),
        subscribe_with(store, "discord:1/12", show, hide_titles=True),
        subscribe_with(store, "discord:1/13", show, reminders=(86400, 3600)),
        subscribe_with(store, "discord:1/14", show, trailers=False),
        subscribe_with(store, "slack:T1/C1", show),
        subscribe_with(store, "discord:1/15", other),
        subscribe_with(store, "discord:1/16", show),  # paused below
        subscribe_with(store, "discord:1/17", show),  # digest instead of per-drop posts
        subscribe_with(store, "discord:1/18", show),  # the same audience as the first
    ]
    store.pause_subscriptions("gone", channel=made[7].channel)
    digest_only = made[8].channel
    store.set_digest(Digest(digest_only, 0, time(9), "UTC", True), actor="t", now=NOW)
    follow, _ = store.follow(UserRef.parse("discord-user:42"), show, reminders=[3600],
                             followed_in="discord:1", actor="t", now=NOW)  # fmt: skip
    pages = [whole_page(store, [show.id, other.id]), whole_page(store, [show.id], direct=True)]

    expected: dict[Audience, set[int]] = {}
    for each in [*made, follow]:
        if each.paused_reason is None and each.id != made[7].id:
            audience = Audience.of(each, digest_only=each.channel == digest_only)
            expected.setdefault(audience, set()).add(each.id)
    found = {a: set(ids) for page in pages for a, ids in page.audiences.items()}
    assert found == expected
    # The default channels of show One share one audience, and so does the one with a role
    # to ping (added as each post is sent).
    assert len(found) == 8 and len(found[Audience.of(made[0])]) == 3

    keys = {}
    for page in pages:
        rows = []
        for audience in page.audiences:
            keys[audience] = NotificationKey.release(len(keys) + 1)
            rows.append(broadcast(audience, keys[audience], season))
        assert store.insert_broadcasts(rows, page=page, now=NOW) == [
            len(page.audiences[row.audience]) for row in rows
        ]
    written: dict[str, set[int]] = {}
    for row in store.outbox():
        written.setdefault(str(row.notification_key), set()).add(row.subscription_id)
    assert written == {str(keys[audience]): ids for audience, ids in expected.items()}


def test_members_are_tagged_in_id_order_and_only_within_the_page(store: Store):
    show = add_show(store)
    season = add_season(store, show)
    made = [subscribe(store, f"console:c{n}", show) for n in range(5)]
    first, second = store.audience_pages(show_ids=[show.id], page_size=3, direct=False)
    [audience] = first.audiences
    key = NotificationKey.release(1)
    row = broadcast(audience, key, season, queue_rank=10.0, rank_step=0.25)
    assert store.insert_broadcasts([row], page=first, now=NOW) == [3]
    assert [(r.subscription_id, r.queue_rank) for r in store.outbox()] == [
        (made[0].id, 10.0), (made[1].id, 10.25), (made[2].id, 10.5),
    ]  # fmt: skip
    assert store.insert_broadcasts([row], page=second, now=NOW) == [2]
    assert [r.subscription_id for r in store.outbox()] == [s.id for s in made]


def test_a_broadcast_bounded_by_subscription_time_leaves_out_later_subscribers(store: Store):
    show = add_show(store)
    season = add_season(store, show)
    early = subscribe_with(store, "console:early", show)
    subscribe_with(store, "console:late", show, now=NOW + timedelta(hours=1))
    page = whole_page(store, [show.id])
    [audience] = page.audiences
    row = broadcast(audience, NotificationKey.release(1), season, subscribed_by=NOW)
    assert store.insert_broadcasts([row], page=page, now=NOW) == [1]
    assert [r.subscription_id for r in store.outbox()] == [early.id]


def test_what_is_there_already_stays_as_it_is(store: Store):
    show = add_show(store)
    season = add_season(store, show)
    there = subscribe(store, "console:there", show)
    new = subscribe(store, "console:new", show)
    key = NotificationKey.release(1)
    store.insert_notifications([notification(there, key, message_json='{"old": 1}')], NOW)
    page = whole_page(store, [show.id])
    [audience] = page.audiences
    row = broadcast(audience, key, season, state="skipped", last_error="past grace")
    assert store.insert_broadcasts([row], page=page, now=NOW) == [1]
    assert store.insert_broadcasts([row], page=page, now=NOW) == [0]
    by_id = {r.subscription_id: r for r in store.outbox()}
    assert (by_id[there.id].state, by_id[there.id].message) == ("pending", {"old": 1})
    assert (by_id[new.id].state, by_id[new.id].last_error) == ("skipped", "past grace")
    assert by_id[new.id].message == {"title": "S1E1"}
    assert by_id[new.id].channel == new.channel and by_id[new.id].due_at == NOW


def test_a_member_whose_settings_change_before_the_write_keeps_its_post(store: Store):
    """The page is read, then written a moment later (planning runs in between, in a worker
    thread): a channel that changes its settings in that moment is in another audience now,
    but gets the post planned for it, not nothing."""
    show = add_show(store)
    season = add_season(store, show)
    made = [subscribe(store, f"console:c{n}", show) for n in range(3)]
    page = whole_page(store, [show.id])
    subscribe_with(store, "console:c1", show, hide_titles=True)  # meanwhile
    store.pause_subscriptions("channel not found", channel=made[2].channel)  # and this one
    [audience] = page.audiences
    row = broadcast(audience, NotificationKey.release(1), season)
    assert store.insert_broadcasts([row], page=page, now=NOW) == [2]
    # c1 as planned; c2, paused since, gets nothing.
    assert [r.subscription_id for r in store.outbox()] == [made[0].id, made[1].id]
