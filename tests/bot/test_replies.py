"""Replies carry their instants and links as typed parts, so no front end parses text."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.models import ChannelRef
from bot.replies import Link, Reply, Spoiler, When, line
from tests.conftest import OPERATOR, add_fam


def test_schedule_lines_carry_each_episodes_instant_in_the_shows_zone(commands):
    add_fam(commands)
    reply = commands.schedule(OPERATOR, "For All Mankind")
    instants = [when for each in reply.lines for when in each.instants()]
    stamps = [when.at.isoformat().replace("+00:00", "Z") for when in instants]
    assert stamps == [episode["airstamp"] for episode in reply.data["episodes"]]
    assert len(stamps) == 10
    assert {when.timezone for when in instants} == {"America/New_York"}
    assert reply.lines[2].parts[-1] == When(
        datetime(2023, 11, 10, 5, tzinfo=UTC), "America/New_York", show_utc=True
    )
    assert reply.text.splitlines()[2] == "  S4E1   Fri 10 Nov 2023 00:00 EST (2023-11-10 05:00 UTC)"


def test_next_and_subscribe_carry_instants_and_the_trailer_a_link(commands, clock):
    add_fam(commands)
    channel = ChannelRef.parse("console:general")
    subscribed = commands.subscribe(OPERATOR, channel, "For All Mankind")
    parts = [part for each in subscribed.lines for part in each.parts]
    assert any(isinstance(part, When) for part in parts)
    [link] = [part for part in parts if isinstance(part, Link)]
    assert link.url.startswith("https://")
    upcoming = commands.next(OPERATOR, channel)
    [first] = upcoming.lines
    assert first.instants()[0].at == datetime(2023, 11, 10, 5, tzinfo=UTC)
    assert commands.trailer(OPERATOR, "For All Mankind").lines[0].parts[-1] == link


def test_plain_rendering_is_the_console_and_cli_text():
    at = datetime(2024, 1, 12, 5, tzinfo=UTC)
    reply = Reply(
        (
            line("S4E10: ", When(at, "America/New_York")),
            line("at ", When(at, "Europe/Paris", show_utc=True), "."),
            line("Trailer: ", Link("https://x.example/t")),
            line("Title: ", Spoiler("Glasnost")),
        )
    )
    assert reply.text.splitlines() == [
        "S4E10: Fri 12 Jan 2024 00:00 EST",
        "at Fri 12 Jan 2024 06:00 CET (2024-01-12 05:00 UTC).",
        "Trailer: https://x.example/t",
        "Title: (hidden)",
    ]
    assert Reply.say("one\ntwo").text == "one\ntwo"
