"""Any store: subscriptions, their options, filters, pages and pauses."""

from __future__ import annotations

from bot.models import Audience, ChannelRef
from bot.store import Store
from tests.bot.store.conftest import NOW, add_show, notification, subscribe


def test_subscribing_again_updates_the_options_and_unpauses(store: Store):
    show = add_show(store)
    channel = ChannelRef.parse("slack:T1/C1")
    first, created = store.subscribe(
        channel,
        show,
        reminders=[3600],
        trailers=True,
        mention=None,
        hide_titles=False,
        actor="t",
        now=NOW,
    )
    assert created and first.reminders == (3600,)
    store.pause_subscriptions("gone", channel=channel)
    again, created = store.subscribe(
        channel,
        show,
        reminders=[86400, 3600],
        trailers=False,
        mention="S1",
        hide_titles=True,
        actor="t",
        now=NOW,
    )
    assert not created and again.id == first.id
    assert (again.reminders, again.trailers, again.mention, again.hide_titles) == (
        (86400, 3600),
        False,
        "S1",
        True,
    )
    assert again.paused_reason is None and again.channel == channel and again.created_at == NOW


def test_subscriptions_are_found_by_channel_tenant_show_and_state(store: Store):
    one, two = add_show(store, "One"), add_show(store, "Two")
    a = subscribe(store, "discord:1/10", one)
    b = subscribe(store, "discord:1/11", two)
    c = subscribe(store, "discord:2/20", one)
    d = subscribe(store, "slack:T1/C1", one)
    store.pause_subscriptions("gone", channel=ChannelRef.parse("discord:2/20"))
    ids = lambda subs: [s.id for s in subs]  # noqa: E731
    assert ids(store.subscriptions()) == [a.id, b.id, c.id, d.id]
    assert ids(store.subscriptions(channel=ChannelRef.parse("discord:1/11"))) == [b.id]
    assert ids(store.subscriptions(tenant_key="discord:1")) == [a.id, b.id]
    assert ids(store.subscriptions(show_ids=[one.id])) == [a.id, c.id, d.id]
    assert store.subscriptions(show_ids=[]) == []
    assert ids(store.subscriptions(active_only=True, show_ids=[one.id])) == [a.id, d.id]
    assert ids(store.subscriptions(paused_only=True)) == [c.id]
    assert store.subscribed_show_ids_by_tenant("discord") == {"1": {one.id, two.id}}


def test_pages_cover_every_active_subscription_once_as_audiences(store: Store):
    show, other = add_show(store, "One"), add_show(store, "Two")
    made = [subscribe(store, f"console:c{n}", show if n % 3 else other) for n in range(10)]
    store.pause_subscriptions("gone", channel=ChannelRef.parse("console:c1"))
    pages = list(store.audience_pages(show_ids=[show.id], page_size=3, direct=False))
    everyone = Audience.of(made[2])  # the same settings: one audience
    assert [page.audiences for page in pages] == [
        {everyone: (made[2].id, made[4].id, made[5].id)},
        {everyone: (made[7].id, made[8].id)},
    ]
    # Consecutive, non-overlapping (show, id) ranges ending at the pages' last members.
    assert [(page.after, page.last) for page in pages] == [
        ((0, 0), (show.id, made[5].id)),
        ((show.id, made[5].id), (show.id, made[8].id)),
    ]
    assert list(store.audience_pages(show_ids=[show.id], page_size=3, direct=True)) == []


def test_pages_run_show_by_show_and_can_hold_only_members_with_reminders(store: Store):
    one, two = add_show(store, "One"), add_show(store, "Two")
    made = [
        subscribe(store, f"console:c{n}", one if n % 2 else two, reminders=[3600] * (n % 3 == 0))
        for n in range(8)
    ]  # c0 c2 c4 c6 follow Two, c1 c3 c5 c7 One; c0 c3 c6 have a reminder
    pages = list(store.audience_pages(show_ids=[one.id, two.id], page_size=3, direct=False))
    assert [sum(map(len, page.audiences.values())) for page in pages] == [3, 3, 2]
    assert pages[1].after == (one.id, made[5].id)  # One's c1 c3 c5, then its c7 and Two's
    assert pages[1].last == (two.id, made[2].id)
    # One's c7; Two's c0 (with its reminder) and c2 (without): three audiences.
    assert set(pages[1].audiences.values()) == {(made[7].id,), (made[0].id,), (made[2].id,)}
    [reminded] = store.audience_pages(
        show_ids=[one.id, two.id], page_size=3, direct=False, with_reminders_only=True
    )
    assert reminded.audiences == {
        Audience.of(made[3]): (made[3].id,),  # One's c3
        Audience.of(made[0]): (made[0].id, made[6].id),  # Two's c0 and c6
    }


def test_pausing_a_tenant_pauses_its_channels_and_skips_their_pending_posts(store: Store):
    show = add_show(store)
    ours = subscribe(store, "slack:T1/C1", show)
    theirs = subscribe(store, "slack:T2/C1", show)
    store.insert_notifications([notification(ours), notification(theirs)], NOW)
    assert store.pause_subscriptions("app uninstalled", tenant_key="slack:T1") == 1
    assert store.pause_subscriptions("again", tenant_key="slack:T1") == 0  # already paused
    assert [(s.id, s.paused_reason) for s in store.subscriptions(paused_only=True)] == [
        (ours.id, "app uninstalled")
    ]
    assert {row.subscription_id: row.state for row in store.outbox()} == {
        ours.id: "skipped",
        theirs.id: "pending",
    }


def test_reminder_offsets_in_use_are_listed_per_show(store: Store):
    one, two = add_show(store, "One"), add_show(store, "Two")
    subscribe(store, "console:a", one, reminders=[3600])
    subscribe(store, "console:b", one, reminders=[86400, 3600])
    subscribe(store, "console:c", two)
    paused = subscribe(store, "console:d", two, reminders=[600])
    store.pause_subscriptions("gone", subscription_id=paused.id)
    assert store.reminder_offsets_by_show() == {one.id: {3600, 86400}}
