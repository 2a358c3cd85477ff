"""Commands report their latency through the observer, whatever their outcome."""

from __future__ import annotations

import pytest

from bot import catalogue
from bot.commands import Commands
from bot.errors import InvalidInput, UnknownShow
from bot.observer import ObservedCommands
from tests.conftest import OPERATOR, add_fam


class Recorder:
    def __init__(self) -> None:
        self.commands: list[tuple[str, float, str]] = []

    def command_finished(self, command: str, duration_seconds: float, outcome: str) -> None:
        self.commands.append((command, duration_seconds, outcome))


def test_each_command_is_timed_with_its_outcome(commands: Commands) -> None:
    add_fam(commands)
    ticks = iter([10.0, 10.25, 20.0, 20.5])
    recorder = Recorder()
    observed = ObservedCommands(commands, recorder, timer=lambda: next(ticks))  # type: ignore[arg-type]
    assert "For All Mankind" in observed.schedule(OPERATOR, "For All Mankind").text
    with pytest.raises(UnknownShow):
        observed.trailer(OPERATOR, "No Such Show")
    assert recorder.commands == [("schedule", 0.25, "ok"), ("trailer", 0.5, "refused")]
    assert observed.store is commands.store  # plain attributes pass through


async def test_an_async_command_is_timed_until_its_answer(commands: Commands) -> None:
    ticks = iter([30.0, 31.5])
    recorder = Recorder()
    observed = ObservedCommands(commands, recorder, timer=lambda: next(ticks))  # type: ignore[arg-type]
    pending = observed.show_import(OPERATOR, "tvmaze:36947")
    assert recorder.commands == []  # nothing to report before it has answered
    with pytest.raises(InvalidInput):  # no sources wired in here: a refusal, when awaited
        await pending
    assert recorder.commands == [("show_import", 1.5, "refused")]


def test_only_catalogue_commands_are_timed_even_through_the_catalogue(commands: Commands) -> None:
    """A front end invokes through the catalogue, and that call is what is timed; a helper
    such as `complete_show_titles` is no command and reports nothing."""
    add_fam(commands)
    ticks = iter([40.0, 40.75])
    recorder = Recorder()
    observed = ObservedCommands(commands, recorder, timer=lambda: next(ticks))  # type: ignore[arg-type]
    assert observed.complete_show_titles(OPERATOR, "For") == ["For All Mankind"]
    assert recorder.commands == []
    reply = catalogue.SCHEDULE.invoke(observed, OPERATOR, show="For All Mankind")  # type: ignore[arg-type]
    assert "For All Mankind" in reply.text
    assert recorder.commands == [("schedule", 0.75, "ok")]


def test_an_attribute_set_on_the_wrapper_is_set_on_the_core(commands: Commands) -> None:
    observed = ObservedCommands(commands, Recorder())  # type: ignore[arg-type]
    sources = object()
    observed.sources = sources
    assert commands.sources is sources and observed.sources is sources
