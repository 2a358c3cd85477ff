"""Follows: a member's own DMs about a show, planned and kept once only like channel posts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.agenda import posts_between
from bot.errors import InvalidInput, NotFound, PermissionDenied, UnknownShow
from bot.messages import MessageKind
from bot.models import Actor, ChannelRef, UserRef
from tests.conftest import OPERATOR, add_fam

MEMBER_A = Actor("discord", "111", "42", can_manage_channels=False)
MEMBER_B = Actor("discord", "222", "43", can_manage_channels=False)
ADMIN_A = Actor("discord", "111", "7", is_admin=True)
SLACK_MEMBER = Actor("slack", "T01", "U9", can_manage_channels=False)
SEASON = (datetime(2023, 11, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))


def test_user_refs_parse_and_print_as_the_contract_says():
    assert str(UserRef.parse("discord-user:42")) == "discord-user:42"
    assert str(UserRef.parse("slack-user:T01/U9")) == "slack-user:T01/U9"
    assert str(UserRef.parse(" console-user:alice ")) == "console-user:alice"
    assert UserRef.parse("discord-user:42").inbox.is_direct
    assert str(UserRef.parse("discord-user:42").inbox) == "discord-user:42"
    for bad in ("discord:42", "slack-user:U9", "discord-user:4 2", "console-user:", "@everyone"):
        with pytest.raises(InvalidInput):
            UserRef.parse(bad)
    # No typed channel can name someone's direct messages.
    with pytest.raises(InvalidInput):
        ChannelRef.parse("discord:@/@42")


def test_a_follower_gets_drops_and_their_reminders_but_no_trailer_posts(commands, store, clock):
    add_fam(commands)
    reply = commands.follow(MEMBER_A, "For All Mankind", before="1h")
    assert reply.text == (
        "You will get a direct message when S4E1 drops (and 1h before). Stop: /episodes unfollow"
    )
    posts = [p for p in posts_between(store, *SEASON) if p.subscription.channel.is_direct]
    assert len(posts) == 20  # ten drops, ten reminders
    assert {p.message.kind for p in posts} == {
        MessageKind.PREMIERE, MessageKind.EPISODE, MessageKind.FINALE, MessageKind.REMINDER
    }  # fmt: skip
    assert {str(p.subscription.channel) for p in posts} == {"discord-user:42"}
    assert str(posts[1].notification_key) == "episode:1:release"  # the same keys as channel posts


def test_following_again_does_not_follow_twice_and_keeps_the_reminders(commands, store):
    add_fam(commands)
    commands.follow(MEMBER_A, "For All Mankind", before="1d")
    reply = commands.follow(MEMBER_A, "For All Mankind")  # a second "Notify me" click
    assert reply.text.startswith("You already follow For All Mankind (and 1d before)")
    assert reply.data["created"] is False
    (follow,) = store.follows(UserRef.parse("discord-user:42"))
    assert follow[0].reminders == (86400,)
    assert follow[1] == "discord:111"  # the tenant where the member followed


def test_a_member_follows_from_any_server_and_private_shows_stay_private(commands, store):
    commands.show_add(ADMIN_A, "Server A Only", tz="UTC")
    commands.follow(MEMBER_A, "Server A Only")
    with pytest.raises(UnknownShow):
        commands.follow(MEMBER_B, "Server A Only")
    with pytest.raises(UnknownShow):
        commands.follow(SLACK_MEMBER, "Server A Only")
    # The operator cannot make a Slack member follow a Discord server's private show.
    with pytest.raises(PermissionDenied):
        commands.follow(OPERATOR, "Server A Only", user=UserRef.parse("slack-user:T01/U9"))


def test_who_follows_what_is_seen_only_by_that_member_and_the_operator(commands, store):
    add_fam(commands)
    commands.subscribe(ADMIN_A, ChannelRef("discord", "111", "900"), "For All Mankind")
    commands.follow(MEMBER_A, "For All Mankind")
    assert "discord-user" not in commands.subscriptions(ADMIN_A).text
    assert "discord-user" not in commands.subscriptions(OPERATOR).text
    assert commands.following(MEMBER_A).text == "You follow:\n- For All Mankind"
    assert commands.following(MEMBER_B).text == "You follow no shows."
    operator_view = commands.following(OPERATOR, user=UserRef.parse("discord-user:42"))
    assert operator_view.data[0]["user"] == "discord-user:42"
    assert store.subscribed_show_ids_by_tenant("discord") == {"111": {1}}  # no DM "tenant"


def test_unfollow_and_forget_me(commands, store, clock):
    add_fam(commands)
    commands.follow(MEMBER_A, "For All Mankind")
    assert commands.unfollow(MEMBER_A, "For All Mankind").text == (
        "You no longer get direct messages about For All Mankind."
    )
    with pytest.raises(NotFound):
        commands.unfollow(MEMBER_A, "For All Mankind")
    commands.follow(MEMBER_A, "For All Mankind")
    reply = commands.forget_me(MEMBER_A)
    assert reply.data == {"follows": 1, "unsent": 0}
    assert store.follows(UserRef.of_actor(MEMBER_A)) == []
    assert "42" not in str(store.audit_log(1))


def test_a_paused_follow_is_told_to_the_member_at_their_next_command(commands, store):
    add_fam(commands)
    commands.follow(MEMBER_A, "For All Mankind")
    ((follow, _),) = store.follows(UserRef.of_actor(MEMBER_A))
    store.pause_subscriptions("cannot send you direct messages", subscription_id=follow.id)
    reply = commands.shows(MEMBER_A)
    assert reply.notices == (
        "Your direct messages about For All Mankind are paused: cannot send you direct "
        "messages. Let the bot message you, then follow again to resume.",
    )
    assert commands.shows(MEMBER_B).notices == ()
    assert commands.shows(ADMIN_A).notices == ()  # not the admin's business
    commands.follow(MEMBER_A, "For All Mankind")  # resumes
    assert commands.shows(MEMBER_A).notices == ()
