"""Neutral messages -> Block Kit: escaping, Slack's limits, date tokens, opted-in mentions."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from adapters.slack.render import (
    HEADER_LIMIT,
    MAX_BLOCKS,
    REPLY_LIMIT,
    SECTION_LIMIT,
    date_token,
    escape,
    fit,
    render_message,
    render_reply,
)
from bot.messages import Message, MessageField, MessageKind
from bot.replies import Link, Reply, Spoiler, When, line

INJECTIONS = ("<!channel>", "<!here>", "<!everyone>", "<@U0123>", "<!subteam^S0123>", "<#C01>")
MENTION_RE = re.compile(r"<[!@#]")


def _message(**overrides) -> Message:
    values = {
        "kind": MessageKind.PREMIERE,
        "title": "For All Mankind S4E1 is out",
        "text": "Season 4 premieres on Apple TV+.",
        "show_title": "For All Mankind",
        "season_number": 4,
        "episode_number": 1,
        "release_at": datetime(2023, 11, 10, 5, 0, tzinfo=UTC),
        "timezone": "America/New_York",
        "link": "https://www.youtube.com/watch?v=abc",
        "link_label": "Watch the trailer",
    }
    values.update(overrides)
    return Message(**values)


def _mentions(payload) -> list[str]:
    """Every `<…>` control sequence in the payload except our own date tokens."""
    wire = json.dumps({"text": payload.text, "blocks": payload.blocks})
    return [m for m in re.findall(r"<[^<>]*>", wire) if not m.startswith("<!date^")]


def test_release_post_blocks() -> None:
    payload = render_message(_message(fields=(MessageField("Network", "Apple TV+"),)))
    types = [block["type"] for block in payload.blocks]
    assert types == ["header", "section", "section", "actions"]
    assert payload.blocks[0]["text"] == {
        "type": "plain_text",
        "text": "For All Mankind S4E1 is out",
        "emoji": True,
    }
    assert "<!date^1699592400^{date_long_pretty} {time}|" in payload.blocks[1]["text"]["text"]
    button = payload.blocks[3]["elements"][0]
    assert button["url"] == "https://www.youtube.com/watch?v=abc"
    assert button["text"]["text"] == "Watch the trailer"
    assert payload.text.startswith("For All Mankind S4E1 is out: Season 4")


def test_date_token_fallback_uses_show_zone() -> None:
    token = date_token(datetime(2023, 11, 10, 5, 0, tzinfo=UTC), "America/New_York")
    assert token == (
        "<!date^1699592400^{date_long_pretty} {time}|Fri 10 Nov 2023 00:00 America/New_York>"
    )
    assert date_token(datetime(2023, 11, 10, 5, 0, tzinfo=UTC)).endswith("05:00 UTC>")


def test_user_text_can_never_mention_anyone() -> None:
    for injection in INJECTIONS:
        message = _message(
            title=f"{injection} S4E1",
            text=f"hello {injection} & more",
            show_title=injection,
            fields=(MessageField(injection, injection),),
            link_label=injection,
        )
        payload = render_message(message)
        assert _mentions(payload) == []
        assert escape(injection) in payload.text


def test_opted_in_group_mention_only() -> None:
    assert "subteam" not in json.dumps(render_message(_message()).blocks)
    payload = render_message(_message(mention="S0123ABC"))
    assert payload.text.startswith("<!subteam^S0123ABC> ")
    assert payload.blocks[1]["text"]["text"].startswith("<!subteam^S0123ABC> ")
    # A malformed id (or an attempt to smuggle markup) pings nobody.
    assert _mentions(render_message(_message(mention="S1>|<!channel"))) == []


def test_spoiler_fields_are_left_out() -> None:
    payload = render_message(
        _message(fields=(MessageField("Title", "Secret Ending", spoiler=True),))
    )
    assert "Secret Ending" not in json.dumps(payload.blocks)
    assert [b["type"] for b in payload.blocks] == ["header", "section", "actions"]


def test_limits_are_kept_with_ellipsis() -> None:
    fields = tuple(MessageField(f"f{i}", "<" * 3000) for i in range(600))
    payload = render_message(_message(title="&" * 400, text="<" * 10000, fields=fields))
    assert len(payload.blocks) <= MAX_BLOCKS
    header = payload.blocks[0]["text"]["text"]
    assert len(header) <= HEADER_LIMIT and header.endswith("…")
    assert "&am…" not in header and header.count("&amp;") == (HEADER_LIMIT - 1) // 5
    for block in payload.blocks:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= SECTION_LIMIT
        for field in block.get("fields", ()):
            assert len(field["text"]) <= 2000
        assert len(block.get("fields", ())) <= 10


def test_unsafe_links_get_no_button() -> None:
    for link in ("javascript:alert(1)", "https://x.example/a|<!channel>", "ftp://x.example"):
        payload = render_message(_message(link=link))
        assert [b["type"] for b in payload.blocks] == ["header", "section"]


def test_fit() -> None:
    assert fit("a<b", 10) == "a&lt;b"
    assert fit("abcdef", 4) == "abc…"


def test_reply_is_escaped_and_ephemeral_by_default() -> None:
    answer = render_reply(Reply.say("Added <!channel> & co.", notices=("paused <@U1>",)))
    text = "Added &lt;!channel&gt; &amp; co.\npaused &lt;@U1&gt;"
    assert answer == {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}],
        "response_type": "ephemeral",
    }
    assert render_reply(Reply.say("hi", ephemeral=False))["response_type"] == "in_channel"


def test_reply_instants_become_date_tokens_and_links_stay_whole() -> None:
    at = datetime(2023, 11, 10, 5, tzinfo=UTC)
    reply = Reply(
        (
            line("<!here> Show"),
            line("  S4E1  ", When(at, "America/New_York", show_utc=True)),
            line("Trailer: ", Link("https://www.youtube.com/watch?v=abc&t=1")),
            line("Title: ", Spoiler("Glasnost")),
        )
    )
    assert render_reply(reply)["text"].split("\n") == [
        "&lt;!here&gt; Show",
        "  S4E1  <!date^1699592400^{date_short_pretty} {time}|Fri 10 Nov 2023 00:00 "
        "America/New_York>",
        "Trailer: <https://www.youtube.com/watch?v=abc&amp;t=1>",
        "Title: (hidden)",
    ]


def test_a_long_reply_keeps_whole_lines_and_says_it_was_cut() -> None:
    at = datetime(2023, 11, 10, 5, tzinfo=UTC)
    reply = Reply(tuple(line(f"S{n}E1 ", When(at, "UTC")) for n in range(1000)))
    text = render_reply(reply)["text"]
    assert len(text) <= REPLY_LIMIT
    assert text.endswith("\n…")
    assert all(row.endswith("|Fri 10 Nov 2023 05:00 UTC>") for row in text.split("\n")[:-1])
