"""`/episodes` (grammar, help, season form) covers the command catalogue."""

from __future__ import annotations

import pytest

from adapters.slack import modal
from adapters.slack.grammar import SPECS, help_text, parse
from bot.catalogue import SEASON_ADD, Command, Front, Group, for_front


def _words(command: Command) -> tuple[str, ...]:
    return ("admin", *command.on_chat) if command.group is Group.ADMIN else command.on_chat


def test_every_member_and_admin_command_and_help():
    commands = [spec.command for spec in SPECS if spec.command is not None]
    assert sorted(c.name for c in commands) == sorted(c.name for c in for_front(Front.SLACK))
    assert [spec.words for spec in SPECS if spec.command is None] == [("help",)]


@pytest.mark.parametrize("command", for_front(Front.SLACK), ids=lambda c: c.name)
def test_each_command_takes_the_catalogues_options(command: Command):
    [spec] = [spec for spec in SPECS if spec.command is command]
    assert spec.words == _words(command)
    options = command.options_for(Front.SLACK)
    assert spec.positionals == tuple(o.name for o in options if o.positional and o.required)
    assert {flag: f.dest for flag, f in spec.options.items()} == {
        o.flag: o.name for o in options if not o.positional
    } | {o.opposite: o.name for o in options if o.opposite}
    assert {f.dest for f in spec.options.values() if f.required} == {
        o.name for o in options if o.required and not o.positional
    }
    assert spec.usage in help_text(admin=True)
    assert (spec.usage in help_text(admin=False)) == (command.group is Group.MEMBER)


def test_parsed_values_are_named_after_the_core_parameters():
    parsed = parse('admin season add "FAM" 4 --premiere 2023-11-10 --episodes 10 --title "Eh"')
    assert parsed.command is SEASON_ADD
    assert parsed.args == {
        "show": "FAM",
        "number": "4",
        "premiere": "2023-11-10",
        "episodes": "10",
        "title": "Eh",
    }


def test_the_season_form_has_an_input_for_every_option_slack_offers():
    filled = {name for names in modal.BLOCK_OPTIONS.values() for name in names}
    assert filled == {option.name for option in SEASON_ADD.options_for(Front.SLACK)}
    view = modal.season_form(["FAM"], channel_id="C1", team="T1")
    blocks = {block["block_id"]: block for block in view["blocks"]}
    assert set(blocks) == set(modal.BLOCK_OPTIONS)
    for block_id, names in modal.BLOCK_OPTIONS.items():
        required = any(SEASON_ADD.option(name).required for name in names)
        assert blocks[block_id]["optional"] is not required, block_id
        element = blocks[block_id]["element"]
        if element["type"] == "number_input":
            option = SEASON_ADD.option(names[0])
            assert (element["min_value"], element["max_value"]) == (
                str(option.min),
                str(option.max),
            )
