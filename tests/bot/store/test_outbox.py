"""Any store: the outbox is insert-or-ignore on (subscription, key), claims are exclusive, and
each mark moves a claimed row to where the engine says."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from bot.keys import NotificationKey
from bot.store import Store
from tests.bot.store.conftest import NOW, StoreSite, add_show, lease, notification, subscribe

LATER = NOW + timedelta(minutes=5)


def test_insert_is_idempotent_per_subscription_and_key(store: Store):
    show = add_show(store)
    general, other = subscribe(store, "console:general", show), subscribe(store, "console:b", show)
    row = notification(general)
    assert store.insert_notifications([row, row], NOW) == 1
    assert store.insert_notifications([row], NOW) == 0
    # Another key, or the same key for another subscription, is another post.
    assert (
        store.insert_notifications(
            [notification(general, "episode:1:before:1h"), notification(other)], NOW
        )
        == 2
    )
    assert store.outbox_counts()["pending"] == 3


def test_a_row_keeps_its_typed_key_its_channel_and_its_message(store: Store):
    subscription = subscribe(store, "discord:123/456", add_show(store))
    key = NotificationKey.reminder(7, 5400)
    store.insert_notifications([notification(subscription, key, message_json='{"a": 1}')], NOW)
    [row] = store.claim_due(NOW, platforms=["discord"], generation=lease(store))
    assert (row.notification_key, str(row.notification_key)) == (key, "episode:7:before:1h30m")
    assert (str(row.channel), row.due_at, row.message, row.attempts) == (
        "discord:123/456",
        NOW,
        {"a": 1},
        1,
    )


def test_a_claimed_row_is_not_claimed_again(store: Store):
    subscription = subscribe(store, "console:general", add_show(store))
    store.insert_notifications([notification(subscription)], NOW)
    assert (
        store.claim_due(NOW - timedelta(seconds=1), platforms=["console"], generation=lease(store))
        == []
    )  # not due
    assert (
        store.claim_due(NOW, platforms=["slack"], generation=lease(store)) == []
    )  # not this platform
    assert len(store.claim_due(NOW, platforms=["console"], generation=lease(store))) == 1
    assert store.claim_due(NOW, platforms=["console"], generation=lease(store)) == []
    assert [row.state for row in store.outbox()] == ["sending"]


def test_connections_claiming_at_once_never_share_a_row(site: StoreSite):
    store = site.open()
    show = add_show(store)
    rows = [notification(subscribe(store, f"console:c{n}", show)) for n in range(60)]
    store.insert_notifications(rows, NOW)
    claimers = [site.open() for _ in range(3)]
    generation = lease(store)  # one runner's generation, shared by its connections

    def claim_all(claimer: Store) -> list[int]:
        claimed = []
        while batch := claimer.claim_due(
            NOW, platforms=["console"], limit=4, generation=generation
        ):
            claimed += [row.id for row in batch]
        return claimed

    with ThreadPoolExecutor(len(claimers)) as pool:
        results = list(pool.map(claim_all, claimers))
    ids = [row_id for result in results for row_id in result]
    assert len(ids) == len(set(ids)) == 60


def test_marks_move_only_claimed_rows(store: Store):
    show = add_show(store)
    sub = subscribe(store, "console:general", show)
    store.insert_notifications(
        [notification(sub, f"episode:{n}:release") for n in (1, 2, 3, 4)], NOW
    )
    one, two, three, four = store.claim_due(NOW, platforms=["console"], generation=lease(store))
    store.mark_sent(one.id, "m1", NOW, generation=lease(store))
    store.mark_sent(one.id, "m2", LATER, generation=lease(store))  # no longer sending: ignored
    store.mark_retry(two.id, "503", LATER, NOW, generation=lease(store))
    store.mark_skipped(three.id, "the drop has already happened", NOW, generation=lease(store))
    store.mark_failed(four, "payload refused", NOW, pause=False, generation=lease(store))
    by_key = {str(row.notification_key): row for row in store.outbox()}
    sent = by_key["episode:1:release"]
    assert (sent.state, sent.platform_message_id) == ("sent", "m1")
    assert (by_key["episode:2:release"].state, by_key["episode:2:release"].last_error) == (
        "pending",
        "503",
    )
    assert by_key["episode:3:release"].state == "skipped"
    assert by_key["episode:4:release"].state == "failed"
    assert store.subscriptions(paused_only=True) == []  # pause=False pauses nothing
    assert store.last_sent_by_platform() == {"console": NOW}
    # A retry waits for its time, and counts as a second attempt.
    assert store.next_attempt_at(["console"]) == LATER
    assert store.claim_due(NOW, platforms=["console"], generation=lease(store)) == []
    [again] = store.claim_due(LATER, platforms=["console"], generation=lease(store))
    assert (again.id, again.attempts) == (two.id, 2)


def test_a_failure_that_pauses_skips_the_subscriptions_other_posts(store: Store):
    sub = subscribe(store, "console:general", add_show(store))
    store.insert_notifications(
        [
            notification(sub, "episode:1:release"),
            notification(sub, "episode:2:release", due_at=LATER),
        ],
        NOW,
    )
    [first] = store.claim_due(NOW, platforms=["console"], generation=lease(store))
    store.mark_failed(first, "channel not found", NOW, pause=True, generation=lease(store))
    [paused] = store.subscriptions(paused_only=True)
    assert paused.paused_reason == "channel not found"
    assert [row.state for row in store.outbox()] == ["failed", "skipped"]


def test_released_rows_go_back_without_counting_an_attempt(store: Store):
    sub = subscribe(store, "console:general", add_show(store))
    store.insert_notifications([notification(sub)], NOW)
    [claimed] = store.claim_due(NOW, platforms=["console"], generation=lease(store))
    store.release_sending([claimed.id], NOW, generation=lease(store))
    [again] = store.claim_due(NOW, platforms=["console"], generation=lease(store))
    assert again.attempts == 1


def test_rows_past_the_grace_window_are_skipped_not_sent(store: Store):
    sub = subscribe(store, "console:general", add_show(store))
    store.insert_notifications(
        [
            notification(sub, "episode:1:release", due_at=NOW),
            notification(sub, "episode:2:release", due_at=LATER),
        ],
        NOW,
    )
    assert store.skip_overdue(LATER, LATER) == 1
    assert [(str(r.notification_key), r.state) for r in store.outbox()] == [
        ("episode:1:release", "skipped"),
        ("episode:2:release", "pending"),
    ]


def test_watermarks_only_move_forward(store: Store):
    store.insert_notifications([], NOW, watermarks={"plan": "0002"})
    store.insert_notifications([], NOW, watermarks={"plan": "0001"})
    assert store.get_meta("plan") == "0002"


def test_unsubscribing_removes_the_subscriptions_posts(store: Store):
    show = add_show(store)
    sub = subscribe(store, "console:general", show)
    store.insert_notifications([notification(sub)], NOW)
    from bot.models import ChannelRef

    assert store.unsubscribe(ChannelRef.parse("console:general"), show, actor="t", now=NOW)
    assert store.outbox() == []


def test_a_fair_claim_takes_one_platforms_rows_in_queue_order_once(store: Store):
    show = add_show(store)
    rows = []
    for n, rank in enumerate((3.0, 1.0, 2.0)):
        row = notification(subscribe(store, f"discord:1/{n + 10}", show))
        row.queue_rank = rank
        rows.append(row)
    rows.append(notification(subscribe(store, "console:general", show)))  # another platform
    store.insert_notifications(rows, NOW)
    assert store.queue_head_rank("discord", 0, NOW) == 1.0
    first = store.claim_fair(NOW, platform="discord", limit=2, generation=lease(store))
    assert [row.channel.channel for row in first] == ["11", "12"]
    assert [
        row.channel.channel
        for row in store.claim_fair(NOW, platform="discord", limit=5, generation=lease(store))
    ] == ["10"]
    assert store.claim_fair(NOW, platform="discord", limit=5, generation=lease(store)) == []
