"""Channels are written in each platform's own id syntax and refused at once otherwise."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from bot.models import CONSOLE_TENANT, ChannelRef, UserRef
from bot.platforms import CHANNEL_SYNTAXES


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("discord:123456789012345678/234567890123456789", ("discord", "123456789012345678",
                                                           "234567890123456789")),
        ("discord:1/2", ("discord", "1", "2")),  # any run of digits up to 20
        ("slack:T0123ABCD/C0456EFGH", ("slack", "T0123ABCD", "C0456EFGH")),
        ("slack:E01/G02", ("slack", "E01", "G02")),  # Enterprise Grid, a private channel
        ("slack:T01/D02", ("slack", "T01", "D02")),  # a direct message
        ("  console:general ", ("console", CONSOLE_TENANT, "general")),
    ],
)  # fmt: skip
def test_channels_in_their_platforms_syntax_are_read(text: str, parts: tuple[str, str, str]):
    channel = ChannelRef.parse(text)
    assert (channel.platform, channel.tenant, channel.channel) == parts
    assert ChannelRef.parse(str(channel)) == channel


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("discord:1/abc", "a channel id is a number"),
        ("discord:abc/1", "a server id is a number"),
        ("discord:1/" + "9" * 21, "up to 20 digits"),
        ("discord:1/-5", "a channel id is a number"),
        ("slack:T01/c02", "channel id starts with C, G or D"),
        ("slack:U01/C02", "workspace id starts with T (or E"),
        ("slack:T01/X02", "channel id starts with C, G or D"),
        ("slack:T01", "it needs slack:TENANT/CHANNEL"),
        ("console:two words", "simple name"),
        ("console:", "simple name"),
    ],
)
def test_a_malformed_id_is_refused_with_the_shape_it_should_have(text: str, expected: str):
    with pytest.raises(InvalidInput) as caught:
        ChannelRef.parse(text)
    message = str(caught.value)
    assert expected in message
    platform = text.partition(":")[0]
    assert f"e.g. {CHANNEL_SYNTAXES[platform].example}" in message


def test_an_unknown_platform_lists_the_known_ones():
    with pytest.raises(InvalidInput, match="platforms: discord, slack, console"):
        ChannelRef.parse("teams:T/C")


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("discord-user:800000000000000078", ("discord", "@", "800000000000000078")),
        ("slack-user:T01/U9", ("slack", "T01", "U9")),
        ("slack-user:E01/W9", ("slack", "E01", "W9")),  # an Enterprise Grid member
        ("console-user:alice", ("console", CONSOLE_TENANT, "alice")),
    ],
)
def test_members_are_written_in_their_platforms_syntax(text: str, parts: tuple[str, str, str]):
    user = UserRef.parse(text)
    assert (user.platform, user.tenant, user.user) == parts
    assert str(user) == text and UserRef.of_inbox(user.inbox) == user


@pytest.mark.parametrize(
    "text", ["discord-user:abc", "slack-user:U9", "slack-user:T01/C02", "teams-user:1", "x"]
)
def test_a_malformed_member_is_refused_with_the_shapes_that_work(text: str):
    with pytest.raises(InvalidInput) as caught:
        UserRef.parse(text)
    assert "Write discord-user:ID, slack-user:TEAM/ID or console-user:NAME." in str(caught.value)
