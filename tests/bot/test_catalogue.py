"""The command catalogue binds each command to its core function with checked types."""

from __future__ import annotations

import inspect

import pytest

from bot import catalogue
from bot.catalogue import CATALOGUE, CatalogueError, Command, Group, Option
from bot.commands import Commands
from bot.models import Actor, ChannelRef

# Commands methods that are not commands a user types: platform events and autocomplete.
NOT_TYPED = {"pause_channel", "pause_tenant", "complete_show_titles"}
# Core functions whose chat command their owner adds next (the CLI has its own already).
AWAITING_AN_ENTRY: set[str] = set()
# Rights checks and answers the schedule sources' service (bot/sources/service.py) reuses.
SERVICE_HELPERS = {
    "require_admin", "visible_shows", "visible_show", "editable_show", "check_can_edit",
    "reply", "notify_changed", "can_edit",
}  # fmt: skip


def test_every_core_command_has_one_catalogue_entry():
    public = {
        name
        for name, member in inspect.getmembers(Commands, inspect.isfunction)
        if not name.startswith("_")
    }
    bound = [command.core.__name__ for command in CATALOGUE if command.core is not None]
    assert sorted(bound) == sorted(public - NOT_TYPED - AWAITING_AN_ENTRY - SERVICE_HELPERS)


def test_names_are_unique_on_every_front():
    cli = [command.words for command in CATALOGUE]
    chat = [(command.group is Group.ADMIN, command.on_chat) for command in CATALOGUE]
    assert len(set(cli)) == len(cli)
    assert len(set(chat)) == len(chat)


def test_an_option_naming_no_parameter_fails_at_declaration():
    with pytest.raises(CatalogueError, match=r"'shw' is not a parameter of Commands\.trailer"):
        Command(
            ("trailer",), Group.MEMBER, "x", (Option("shw", positional=True),), Commands.trailer
        )


def test_an_option_of_the_wrong_type_fails_at_declaration():
    with pytest.raises(CatalogueError, match="'show' is int"):
        Command(("trailer",), Group.MEMBER, "x", (Option("show", int),), Commands.trailer)
    with pytest.raises(CatalogueError, match="'trailers' is str"):
        Command(
            ("subscribe",),
            Group.MEMBER,
            "x",
            (Option("channel", ChannelRef), Option("show"), Option("trailers")),
            Commands.subscribe,
        )


def test_a_required_parameter_no_option_fills_fails_at_declaration():
    with pytest.raises(CatalogueError, match="no option fills premiere, episodes"):
        Command(
            ("season", "add"),
            Group.ADMIN,
            "x",
            (Option("show"), Option("number", int)),
            Commands.season_add,
        )


def test_a_front_end_passing_a_wrong_name_or_type_fails(commands: Commands):
    operator = Actor.operator()
    with pytest.raises(CatalogueError, match="has no option 'tz'"):
        catalogue.SCHEDULE.invoke(commands, operator, show="X", tz="UTC")
    with pytest.raises(CatalogueError, match=r"season=1\.5 does not fit"):
        catalogue.SCHEDULE.invoke(commands, operator, show="X", season=1.5)
    with pytest.raises(CatalogueError, match="trailers='no' does not fit"):
        catalogue.SUBSCRIBE.invoke(
            commands, operator, channel=ChannelRef.parse("console:x"), show="X", trailers="no"
        )


def test_the_catalogue_decides_who_sees_the_answer(commands: Commands):
    reply = catalogue.SHOWS.invoke(commands, Actor.operator())
    assert reply.ephemeral is catalogue.SHOWS.ephemeral
    shared = Command(("shows",), Group.MEMBER, "x", catalogue.SHOWS.options, Commands.shows,
                     ephemeral=False)  # fmt: skip
    assert shared.invoke(commands, Actor.operator()).ephemeral is False


def test_cli_only_commands_are_operator_commands_without_a_core():
    for command in CATALOGUE:
        assert (command.core is None) == (command.group is Group.OPERATOR), command.name
