"""Materializing the plan into the outbox: watermarks, events, grace, pauses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.models import ChannelRef
from jobs.outbox import materialize
from tests.conftest import OPERATOR, add_fam

GRACE = timedelta(hours=12)
GENERAL = ChannelRef.parse("console:general")


def keys(store, state: str | None = None) -> list[str]:
    rows = store.outbox(states=[state] if state else None)
    return [str(row.notification_key) for row in rows]


def test_an_event_made_just_after_a_pass_in_the_same_second_is_still_posted(commands, store, clock):
    add_fam(commands)
    commands.subscribe(OPERATOR, GENERAL, "For All Mankind")
    clock.set(datetime(2023, 9, 20, 12, 0, 0, 200_000, tzinfo=UTC))
    materialize(store, clock.now(), GRACE)
    # Stored to the second, the trailer event is stamped 12:00:00, like the pass above.
    clock.advance(timedelta(milliseconds=500))
    commands.season_trailer(OPERATOR, "For All Mankind", 4, "https://example.com/t2")
    clock.advance(timedelta(milliseconds=300))
    assert materialize(store, clock.now(), GRACE).pending == 1
    assert [k for k in keys(store) if ":trailer" in k] == [keys(store)[0]]
    assert materialize(store, clock.now() + timedelta(seconds=5), GRACE).pending == 0


def test_events_older_than_the_grace_window_are_recorded_as_skipped(commands, store, clock):
    commands.show_add(OPERATOR, "For All Mankind", tz="America/New_York")
    commands.subscribe(OPERATOR, GENERAL, "For All Mankind")
    materialize(store, clock.now(), GRACE)  # the bot ran once, then stopped
    clock.advance(timedelta(minutes=1))
    commands.season_add(OPERATOR, "For All Mankind", 4, premiere="2023-11-10", episodes=10)
    clock.advance(timedelta(days=2))  # back up two days later
    result = materialize(store, clock.now(), GRACE)
    assert (result.pending, result.skipped) == (0, 1)
    assert keys(store, "skipped") == [keys(store)[0]]
    assert keys(store)[0].endswith(":announced")


def test_pausing_a_subscription_skips_its_pending_posts(commands, store, clock):
    add_fam(commands)
    commands.subscribe(OPERATOR, GENERAL, "For All Mankind", before="1h")
    materialize(store, datetime(2023, 11, 10, 4, 0, tzinfo=UTC), GRACE)
    assert len(keys(store, "pending")) == 1  # the reminder
    commands.pause_channel(GENERAL, "channel not found")
    assert keys(store, "pending") == []
    assert store.outbox(states=["skipped"])[0].last_error == (
        "subscription paused: channel not found"
    )
    # A paused subscription gets nothing new either.
    assert materialize(store, datetime(2023, 11, 10, 5, 0, tzinfo=UTC), GRACE).pending == 0


async def test_a_drop_planned_over_many_pages_gives_each_channel_its_own_post(
    commands, store, clock, monkeypatch
):
    from bot import agenda
    from jobs.delivery import DeliveryEngine
    from tests.jobs.support import FakeSender

    monkeypatch.setattr(agenda, "PAGE_SIZE", 2)
    for title in ("Severance", "Silo"):
        commands.show_add(OPERATOR, title, tz="UTC")
        commands.season_add(OPERATOR, title, 1, premiere="2025-01-17", episodes=2)
    for number in range(7):
        title = ("Severance", "Silo")[number % 2]
        commands.subscribe(OPERATOR, ChannelRef.parse(f"console:c{number}"), title,
                           mention=f"role{number}")  # fmt: skip
    sender = FakeSender()
    engine = DeliveryEngine(store, {"console": sender}, clock, grace=GRACE)
    clock.set(datetime(2025, 1, 17, 0, 0, 30, tzinfo=UTC))
    result = await engine.run_pass()
    assert result.sent == 7  # one drop per channel (the announcements are long past)
    for delivery in sender.sent:
        number = int(delivery.channel.channel[1:])
        assert delivery.message.show_title == ("Severance", "Silo")[number % 2]
        assert delivery.message.mention == f"role{number}"


def test_the_outbox_holds_exactly_the_posts_the_preview_shows(commands, store, clock):
    """Delivery writes the plan per audience, in SQL; `preview` spells it out per channel in
    Python. Over a season with every kind of setting, the two agree post for post."""
    from datetime import timedelta

    from bot.agenda import posts_between
    from bot.compose import addressed
    from bot.messages import message_from_json, message_to_json
    from bot.models import UserRef

    fam = "For All Mankind"
    add_fam(commands)  # announced, with a trailer, at ANNOUNCED
    subscribe = lambda name, **options: commands.subscribe(  # noqa: E731
        OPERATOR, ChannelRef.parse(f"console:{name}"), fam, **options
    )
    subscribe("plain")
    subscribe("role", mention="fans")
    subscribe("quiet", hide_titles=True, before="1h")
    subscribe("reminded", before="1d,1h")
    subscribe("no-trailers", trailers=False)
    subscribe("digest")
    commands.digest(OPERATOR, ChannelRef.parse("console:digest"), "monday 09:00", only=True)
    subscribe("gone")
    store.pause_subscriptions("channel not found", channel=ChannelRef.parse("console:gone"))
    commands.follow(OPERATOR, fam, before="1h", user=UserRef.parse("console-user:ann"))
    clock.set(clock.now() + timedelta(hours=1))
    subscribe("late")  # after the announcement: the drops, not the old news
    commands.season_move(OPERATOR, fam, 4, premiere="2023-11-17")  # one more change

    now = datetime(2024, 2, 1, tzinfo=UTC)
    since = now - timedelta(days=365)
    planned = {
        (post.subscription.id, str(post.notification_key)): message_to_json(post.message)
        for post in posts_between(store, since, now)
    }
    materialize(store, now, timedelta(days=365))
    # As each will be posted: with its subscription's role to ping, added when it is sent.
    written = {
        (row.subscription_id, str(row.notification_key)): message_to_json(
            addressed(message_from_json(row.message), row.mention)
        )
        for row in store.outbox()
    }
    assert written == planned
    by_channel: dict[str, set[str]] = {}
    for row in store.outbox():
        by_channel.setdefault(row.channel.channel, set()).add(row.notification_key.kind.value)
    assert "gone" not in by_channel  # paused
    assert by_channel["plain"] == by_channel["role"] == {"announced", "moved", "release"}
    assert by_channel["reminded"] == {"announced", "moved", "release", "before"}
    assert by_channel["late"] == {"moved", "release"}  # not the announcement before it
    assert by_channel["no-trailers"] == {"release"}
    assert by_channel["@ann"] == {"release", "before"}  # a follow: drops and reminders
    assert by_channel["digest"] == {"digest", "announced", "moved"}
    assert len(written) > 100
    mentions = {(row.channel.channel, row.notification_key.kind.value, row.mention)
                for row in store.outbox()}  # fmt: skip
    assert ("role", "release", "fans") in mentions
    assert {planned[key]["mention"] for key in planned if key[0] == 2} == {"fans"}  # "role"


def test_a_digest_replanned_after_its_subscription_went_is_not_posted_twice(commands, store, clock):
    """A crash after the digest was written but before "planned up to now" was: the next
    pass re-plans the window. Meanwhile the channel unsubscribed from the show the digest
    rode on; planned on the channel's other subscription, it is still the same digest."""
    from bot.store import to_db_time
    from jobs.outbox import WATERMARK_KEY

    add_fam(commands)
    commands.show_add(OPERATOR, "Silo", tz="UTC")
    commands.subscribe(OPERATOR, GENERAL, "For All Mankind")  # the older: the digest's ride
    commands.subscribe(OPERATOR, GENERAL, "Silo")
    commands.digest(OPERATOR, GENERAL, "monday 09:00", tz="UTC")
    monday = datetime(2023, 11, 13, 9, 0, tzinfo=UTC)
    materialize(store, monday - timedelta(minutes=1), GRACE)
    assert materialize(store, monday, GRACE).pending == 1
    store.set_meta(WATERMARK_KEY, to_db_time(monday - timedelta(minutes=1)))  # the crash
    commands.unsubscribe(OPERATOR, GENERAL, "For All Mankind")
    assert materialize(store, monday, GRACE).pending == 0
    assert keys(store) == ["digest:console:general:2023-W46"]
