"""The click CLI (and so the console prompt) has every catalogue command with its options."""

from __future__ import annotations

import click
import pytest

from bot.catalogue import CATALOGUE, Command, Front, for_front
from episode_bot.cli import cli, prompt_commands


def _leaves(group: click.Group, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], click.Command]:
    found: dict[tuple[str, ...], click.Command] = {}
    for name, each in group.commands.items():
        if isinstance(each, click.Group):
            found.update(_leaves(each, (*path, name)))
        else:
            found[(*path, name)] = each
    return found


def test_every_cli_command_comes_from_the_catalogue():
    expected = {command.words for command in for_front(Front.CLI)}
    expected |= {(alias,) for command in CATALOGUE for alias in command.cli_aliases}
    assert set(_leaves(cli)) == expected


@pytest.mark.parametrize("command", for_front(Front.CLI), ids=lambda c: c.name)
def test_arguments_and_options_match_the_catalogue(command: Command):
    clicked = _leaves(cli)[command.words]
    params = {param.name: param for param in clicked.params if param.name != "help"}
    expected = {option.name for option in command.options_for(Front.CLI)}
    expected |= {"as_json"} if command.json else set()
    expected |= {"yes"} if command.confirm else set()
    assert set(params) == expected
    for option in command.options_for(Front.CLI):
        param = params[option.name]
        assert param.required == option.required, option
        if option.positional:
            assert isinstance(param, click.Argument) and param.metavar == option.usage
            assert option.usage in clicked.get_usage(click.Context(clicked)), option
        else:
            flags = {option.flag, option.opposite} - {None}
            assert isinstance(param, click.Option), option
            assert set(param.opts + param.secondary_opts) == flags, option
            assert param.multiple == option.multiple and param.is_flag == (option.type is bool)
    for alias in command.cli_aliases:
        assert cli.commands[alias] is clicked


def test_the_prompt_offers_the_cli_commands_but_not_what_the_running_bot_does():
    prompt = prompt_commands()
    hidden = {command.words[0] for command in CATALOGUE if not command.in_prompt}
    assert hidden == {"run", "deliver"}
    assert set(prompt.commands) == set(cli.commands) - hidden
    assert prompt.params == []  # no --db (click adds only --help)
    assert "db" in [param.name for param in cli.params]  # the CLI keeps it


def test_an_optional_argument_reads_as_optional_in_the_usage_line():
    shows = _leaves(cli)[("shows",)]
    assert shows.get_usage(click.Context(shows, info_name="shows")).endswith("[OPTIONS] [QUERY]")
