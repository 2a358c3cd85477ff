"""The core commands: permissions, tenant isolation, validation, and what they plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.agenda import posts_between
from bot.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied, UnknownShow
from bot.models import Actor, ChannelRef
from tests.conftest import OPERATOR, add_fam

GUILD_A_ADMIN = Actor("discord", "111", "u-admin-a", is_admin=True)
GUILD_A_MEMBER = Actor("discord", "111", "u-member-a", can_manage_channels=False)
GUILD_B_ADMIN = Actor("discord", "222", "u-admin-b", is_admin=True)
CHANNEL_A = ChannelRef("discord", "111", "900")
CHANNEL_B = ChannelRef("discord", "222", "901")


def snapshot(store) -> list[str]:
    return list(store.db.conn.iterdump())


def test_tenant_admin_adds_a_private_show_that_other_tenants_cannot_see(commands, store):
    commands.show_add(GUILD_A_ADMIN, "Our Secret Show", tz="Europe/Paris")
    assert [s.title for s in store.visible_shows("discord:111")] == ["Our Secret Show"]
    assert store.visible_shows("discord:222") == []
    with pytest.raises(UnknownShow):
        commands.subscribe(GUILD_B_ADMIN, CHANNEL_B, "Our Secret Show")
    with pytest.raises(UnknownShow):
        commands.season_add(GUILD_B_ADMIN, "Our Secret Show", 1, premiere="2024-01-05", episodes=3)
    assert commands.complete_show_titles(GUILD_B_ADMIN, "Secret") == []
    # The same title may exist privately in another tenant.
    commands.show_add(GUILD_B_ADMIN, "Our Secret Show")


def test_a_tenant_cannot_touch_another_tenants_channels(commands):
    add_fam(commands)
    before = snapshot(commands.store)
    with pytest.raises(PermissionDenied, match="another server"):
        commands.subscribe(GUILD_A_ADMIN, CHANNEL_B, "For All Mankind")
    with pytest.raises(PermissionDenied):
        commands.subscriptions(GUILD_A_ADMIN, CHANNEL_B)
    assert snapshot(commands.store) == before


def test_members_cannot_use_admin_commands_or_subscribe_without_channel_rights(commands):
    add_fam(commands)
    before = snapshot(commands.store)
    for call in (
        lambda: commands.show_add(GUILD_A_MEMBER, "Severance"),
        lambda: commands.season_move(GUILD_A_MEMBER, "For All Mankind", 4, premiere="2023-12-01"),
        lambda: commands.season_remove(GUILD_A_MEMBER, "For All Mankind", 4),
        lambda: commands.subscribe(GUILD_A_MEMBER, CHANNEL_A, "For All Mankind"),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert snapshot(commands.store) == before
    # Read-only commands are open to everyone.
    assert "S4E1" in commands.schedule(GUILD_A_MEMBER, "For All Mankind").text


def test_tenant_admins_cannot_change_global_shows(commands):
    add_fam(commands)
    with pytest.raises(PermissionDenied, match="operator"):
        commands.season_trailer(GUILD_A_ADMIN, "For All Mankind", 4, "https://example.com/t")


def test_unknown_show_suggests_close_titles(commands):
    add_fam(commands)
    with pytest.raises(UnknownShow) as raised:
        commands.schedule(GUILD_A_MEMBER, "For All Mankid")
    assert raised.value.suggestions == ["For All Mankind"]


def test_autocomplete_returns_at_most_25_titles(commands):
    for number in range(40):
        commands.show_add(OPERATOR, f"Show {number:02}")
    assert len(commands.complete_show_titles(GUILD_A_MEMBER, "Show")) == 25
    assert commands.complete_show_titles(GUILD_A_MEMBER, "show 07")[0] == "Show 07"


def test_schedule_next_and_subscribe_reply(commands, clock):
    add_fam(commands)
    reply = commands.subscribe(GUILD_A_ADMIN, CHANNEL_A, "for all mankind", before="1d")
    assert "Next: S4E1 Fri 10 Nov 2023 00:00 EST" in reply.text
    assert "Trailer: https://www.youtube.com/watch?v=0xEmwEc2JHs" in reply.text
    clock.set(datetime(2023, 11, 20, tzinfo=UTC))
    nxt = commands.next(GUILD_A_ADMIN, CHANNEL_A)
    assert nxt.data[0]["number"] == 3
    assert nxt.data[0]["airstamp"] == "2023-11-24T05:00:00Z"


def test_season_with_two_episodes_at_premiere_posts_one_drop(commands, store):
    commands.show_add(OPERATOR, "Silo", network="Apple TV+", tz="America/New_York")
    commands.season_add(
        OPERATOR, "Silo", 2, premiere="2024-11-15", episodes=10, premiere_episodes=2
    )
    commands.subscribe(OPERATOR, ChannelRef.parse("console:tv"), "Silo")
    posts = posts_between(
        store, datetime(2024, 11, 14, tzinfo=UTC), datetime(2024, 11, 30, tzinfo=UTC)
    )
    titles = [post.message.title for post in posts]
    assert titles == [
        "Season 2 premiere: Silo S2E1–E2 are out",
        "Silo S2E3 is out",
        "Silo S2E4 is out",
    ]


def test_announcements_go_to_channels_that_existed_and_want_them(commands, store, clock):
    commands.show_add(OPERATOR, "Foundation", tz="UTC")
    commands.subscribe(OPERATOR, ChannelRef.parse("console:fans"), "Foundation")
    commands.subscribe(OPERATOR, ChannelRef.parse("console:quiet"), "Foundation", trailers=False)
    clock.advance(timedelta(minutes=1))
    commands.season_add(OPERATOR, "Foundation", 3, premiere="2025-07-11", episodes=10)
    clock.advance(timedelta(minutes=1))
    commands.subscribe(OPERATOR, ChannelRef.parse("console:late"), "Foundation")
    clock.advance(timedelta(minutes=1))
    commands.season_trailer(OPERATOR, "Foundation", 3, "https://example.com/trailer")
    posts = posts_between(store, clock.now() - timedelta(hours=1), clock.now())
    assert [(str(p.subscription.channel), p.notification_key) for p in posts] == [
        ("console:fans", posts[0].notification_key),
        ("console:fans", posts[1].notification_key),
        ("console:late", posts[2].notification_key),
    ]
    assert posts[0].notification_key.kind == "announced"
    assert posts[1].notification_key.kind == "trailer"
    assert posts[1].message.link == "https://example.com/trailer"


def test_season_move_keeps_hand_set_episodes_and_posts_a_moved_notice(commands, store, clock):
    add_fam(commands, premiere="2023-10-13")
    commands.subscribe(OPERATOR, ChannelRef.parse("console:general"), "For All Mankind")
    commands.episode_set(OPERATOR, "For All Mankind", 4, 10, date="2024-01-19", title="Brazil")
    clock.advance(timedelta(minutes=5))
    commands.season_move(OPERATOR, "For All Mankind", 4, premiere="2023-11-10")
    episodes = commands.schedule(OPERATOR, "For All Mankind").data["episodes"]
    assert episodes[0]["airdate"] == "2023-11-10"
    assert episodes[8]["airdate"] == "2024-01-05"
    assert episodes[9]["airdate"] == "2024-01-19"  # set by hand: stays
    assert episodes[9]["title"] == "Brazil"
    moved = posts_between(store, clock.now() - timedelta(minutes=1), clock.now())
    assert [p.message.kind.value for p in moved] == ["moved"]
    assert "from Friday 13 October 2023 to Friday 10 November 2023" in moved[0].message.text


def test_season_remove_leaves_nothing_behind(commands, store):
    add_fam(commands)
    commands.subscribe(
        OPERATOR, ChannelRef.parse("console:general"), "For All Mankind", before="1h"
    )
    assert store.upcoming_due_instants(datetime(2023, 11, 1, tzinfo=UTC))
    commands.season_remove(OPERATOR, "For All Mankind", 4)
    assert store.upcoming_due_instants(datetime(2023, 11, 1, tzinfo=UTC)) == []
    assert store.db.execute("SELECT COUNT(*) FROM episodes").fetchone()[0] == 0
    with pytest.raises(NotFound):
        commands.schedule(OPERATOR, "For All Mankind", 4)


def test_validation_errors_say_how_to_mend(commands):
    add_fam(commands)
    with pytest.raises(InvalidInput) as raised:
        commands.season_add(OPERATOR, "For All Mankind", 5, premiere="2025-13-01", episodes=3)
    assert raised.value.field == "premiere"
    with pytest.raises(AlreadyExists):
        commands.season_add(OPERATOR, "For All Mankind", 4, premiere="2025-01-03", episodes=3)
    with pytest.raises(InvalidInput, match="Choose one schedule"):
        commands.season_add(
            OPERATOR, "For All Mankind", 5, premiere="2025-01-03", episodes=3,
            every="friday", all_at_once=True,
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="control characters"):
        commands.show_add(OPERATOR, "Bad\x00Title")


def test_paused_subscriptions_are_told_to_the_tenants_admins(commands):
    add_fam(commands)
    commands.subscribe(GUILD_A_ADMIN, CHANNEL_A, "For All Mankind")
    assert commands.pause_channel(CHANNEL_A, "channel not found") == 1
    reply = commands.shows(GUILD_A_ADMIN)
    assert reply.notices == (
        "Posts about For All Mankind in discord:111/900 are paused: channel not found. "
        "Fix it, then subscribe again to resume.",
    )
    assert commands.shows(GUILD_A_MEMBER).notices == ()
    assert commands.shows(GUILD_B_ADMIN).notices == ()
    # Subscribing again resumes.
    commands.subscribe(GUILD_A_ADMIN, CHANNEL_A, "For All Mankind")
    assert commands.shows(GUILD_A_ADMIN).notices == ()
