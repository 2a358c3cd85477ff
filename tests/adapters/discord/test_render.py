"""Rendering core messages and replies within Discord's documented limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.discord.render import (
    EMBED_TOTAL_LIMIT,
    render_message,
    render_reply,
    safe_text,
)
from bot.messages import Message, MessageField, MessageKind
from bot.replies import Link, Reply, Spoiler, When, line
from fakes.discord_api import _invalid_message, _pings

RELEASE = datetime(2023, 11, 10, 2, 0, tzinfo=UTC)
# What bot.compose puts in a release post.
FIELDS = (
    MessageField("Show", "For All Mankind"),
    MessageField("Season", "4"),
    MessageField("Episode", "2 of 10"),
    MessageField("Title", "Have a Nice Sol", spoiler=True),
)


def message(**changes) -> Message:
    base = dict(
        kind=MessageKind.EPISODE,
        title="For All Mankind S4E2 is out",
        text="A new episode.",
        show_title="For All Mankind",
        season_number=4,
        episode_number=2,
        release_at=RELEASE,
        link="https://example.com/fam",
        fields=FIELDS,
    )
    return Message(**{**base, **changes})


def embed_of(payload: dict) -> dict:
    [embed] = payload["embeds"]
    return embed


def test_embed_fields_timestamps_and_link_button():
    payload = render_message(message(link_label="Watch on Apple TV+"))
    embed = embed_of(payload)
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Show"] == "For All Mankind" and fields["Season"] == "4"
    assert fields["Episode"] == "2 of 10" and fields["Title"] == "||Have a Nice Sol||"
    unix = int(RELEASE.timestamp())
    assert f"<t:{unix}:F>" in fields["Release"] and f"<t:{unix}:R>" in fields["Release"]
    [row] = payload["components"]
    [button] = row["components"]
    assert button == {
        "type": 2,
        "style": 5,
        "label": "Watch on Apple TV+",
        "url": "https://example.com/fam",
    }
    assert payload["allowed_mentions"] == {"parse": []} and "content" not in payload


def test_release_fields_show_once_each_in_the_core_order_then_the_release_time():
    embed = embed_of(render_message(message()))
    names = [f["name"] for f in embed["fields"]]
    assert names == ["Show", "Season", "Episode", "Title", "Release"]
    inline = {f["name"]: f["inline"] for f in embed["fields"]}
    assert inline == {
        "Show": True,
        "Season": True,
        "Episode": True,
        "Title": False,  # a spoiler gets its own line
        "Release": False,
    }


def test_only_the_cores_fields_without_a_release_time():
    fields = (MessageField("Episodes", "10"), MessageField("Premiere", "Fri 10 Nov 2023"))
    embed = embed_of(render_message(message(fields=fields, release_at=None, episode_number=None)))
    assert [f["name"] for f in embed["fields"]] == ["Episodes", "Premiere"]


def test_the_release_time_survives_the_25_field_cap():
    fields = tuple(MessageField(f"Note {i}", "x") for i in range(30))
    embed = embed_of(render_message(message(fields=fields)))
    assert len(embed["fields"]) == 25 and embed["fields"][-1]["name"] == "Release"


def test_no_button_for_a_missing_or_non_http_link():
    assert "components" not in render_message(message(link=None))
    assert "components" not in render_message(message(link="javascript:alert(1)"))


def test_huge_texts_are_truncated_within_limits():
    payload = render_message(
        message(
            title="T" * 1000,
            text="D" * 10_000,
            fields=tuple(MessageField(f"n{i}" * 100, "v" * 5000) for i in range(30)),
        )
    )
    embed = embed_of(payload)
    assert len(embed["title"]) == 256 and embed["title"].endswith("…")
    assert len(embed["description"]) <= 4096
    assert len(embed["fields"]) <= 25
    assert all(len(f["name"]) <= 256 and len(f["value"]) <= 1024 for f in embed["fields"])
    assert _invalid_message(payload) is None  # the fake applies Discord's checks, 6000 total


def test_thirty_fields_become_twenty_five():
    fields = tuple(MessageField(f"Note {i}", "x") for i in range(30))
    assert len(embed_of(render_message(message(fields=fields)))["fields"]) == 25


def test_total_embed_size_stays_under_6000():
    fields = tuple(MessageField("n" * 256, "v" * 1024) for i in range(25))
    embed = embed_of(render_message(message(text="d" * 4096, fields=fields)))
    size = len(embed["title"]) + len(embed.get("description", ""))
    size += sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    assert size <= EMBED_TOTAL_LIMIT


def test_spoiler_fields_are_wrapped():
    embed = embed_of(render_message(message(fields=(MessageField("Title", "Dead Man", True),))))
    assert {"name": "Title", "value": "||Dead Man||", "inline": False} in embed["fields"]


def test_user_text_cannot_mention_even_without_allowed_mentions():
    hostile = "@everyone @here <@123456789012345678> <@&123456789012345678> **bold**"
    text = safe_text(hostile)
    assert _pings(text, None) == {"everyone": False, "roles": [], "users": []}
    assert "\\*\\*bold\\*\\*" in text


def test_opted_in_role_is_the_only_mention():
    payload = render_message(message(title="@everyone S4", mention="900000000000000777"))
    assert payload["allowed_mentions"] == {"parse": [], "roles": ["900000000000000777"]}
    assert payload["content"].startswith("<@&900000000000000777> ")
    assert _pings(payload["content"], payload["allowed_mentions"]) == {
        "everyone": False,
        "roles": ["900000000000000777"],
        "users": [],
    }


def test_a_malformed_mention_pings_nobody():
    payload = render_message(message(mention="everyone"))
    assert payload["allowed_mentions"] == {"parse": []} and "content" not in payload


def test_long_replies_are_split_on_lines():
    parts = render_reply(Reply.say("\n".join(f"line {i} " + "x" * 90 for i in range(60))))
    assert len(parts) > 1 and all(len(p) <= 2000 for p in parts)


def test_reply_notices_are_appended():
    [text] = render_reply(Reply.say("Done.", notices=("#news is paused: channel not found",)))
    assert "paused" in text


def test_reply_instants_are_stamps_links_stay_clickable_and_spoilers_hidden() -> None:
    at = datetime(2023, 11, 10, 5, tzinfo=UTC)
    reply = Reply(
        (
            line("@everyone S4E1: ", When(at, "America/New_York", show_utc=True)),
            line("Trailer: ", Link("https://www.youtube.com/watch?v=0x_Emw")),
            line("Title: ", Spoiler("The *twist*")),
        )
    )
    [text] = render_reply(reply)
    assert text.split("\n") == [
        "@\u200beveryone S4E1: <t:1699592400:F> (<t:1699592400:R>)",
        "Trailer: <https://www.youtube.com/watch?v=0x_Emw>",
        "Title: ||The \\*twist\\*||",
    ]


def _spoiler_closes_at(value: str) -> int:
    """Where Discord closes a spoiler opened at the start: the first `||` not escaped."""
    assert value.startswith("||")
    i = 2
    while i < len(value) - 1:
        if value[i] == "\\":
            i += 2  # an escaped character, whatever it is
            continue
        if value[i : i + 2] == "||":
            return i
        i += 1
    return -1


@pytest.mark.parametrize(
    "title",
    [
        "https://x.example/||twist",
        "before || after",
        "a|||b",
        "ends with a pipe|",
        "|",
        "back\\slash ||x",
        "\\||\\\\||",
        "<https://x.example/a||b>",
        "x" * 1015 + "||" + "y" * 20,  # the cut falls near the pipes
    ],
)
def test_hidden_titles_stay_hidden_whatever_they_contain(title):
    embed = embed_of(render_message(message(fields=(MessageField("Title", title, True),))))
    [value] = [f["value"] for f in embed["fields"] if f["name"] == "Title"]
    assert _spoiler_closes_at(value) == len(value) - 2, value
    assert len(value) <= 1024


def test_hidden_titles_in_answers_stay_hidden_too():
    [text] = render_reply(Reply((line("Title: ", Spoiler("https://x.example/||twist")),)))
    value = text.removeprefix("Title: ")
    assert _spoiler_closes_at(value) == len(value) - 2, value
