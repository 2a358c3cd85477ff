"""The slash commands, as Discord receives them, match the command catalogue.

The declarations in adapters/discord/commands.py are written by hand (discord.py's
Group/Range/Choice/autocomplete idioms); this test is what keeps them and the catalogue
in step: a missing command or option, a renamed one, or a wrong type, limit or choice fails
here. Values reach the core by option name, so a matching declaration is a correct binding.
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.discord.interactions import DISCORD_ONLY_OPTIONS
from bot.catalogue import Command, Front, Group, for_front

SUBCOMMAND, SUBCOMMAND_GROUP, STRING, INTEGER, BOOLEAN, ROLE = 1, 2, 3, 4, 5, 8
TYPES = {str: STRING, int: INTEGER, bool: BOOLEAN}
# Options Discord declares with a richer type than the catalogue's value: a role picker
# gives the role's id.
RICHER_TYPES = {"mention": ROLE}
GROUP_NAMES = {Group.MEMBER: "episodes", Group.ADMIN: "episodes-admin"}
ONLY_ON_DISCORD = {("episodes", "subscriptions"): DISCORD_ONLY_OPTIONS}


def _leaves(node: dict[str, Any], path: tuple[str, ...]) -> dict[tuple[str, ...], dict]:
    subs = [o for o in node.get("options", []) if o["type"] in (SUBCOMMAND, SUBCOMMAND_GROUP)]
    if not subs:
        return {path: node}
    found: dict[tuple[str, ...], dict] = {}
    for sub in subs:
        found.update(_leaves(sub, (*path, sub["name"])))
    return found


@pytest.fixture
def declared(bot) -> dict[tuple[str, ...], dict]:
    """Every slash command as its JSON registration (what `discord sync` sends Discord)."""
    found: dict[tuple[str, ...], dict] = {}
    for command in bot.tree.get_commands():
        payload = command.to_dict(bot.tree)
        found.update(_leaves(payload, (payload["name"],)))
    return found


def _path(command: Command) -> tuple[str, ...]:
    return (GROUP_NAMES[command.group], *command.on_chat)


def test_every_member_and_admin_command_and_nothing_else(declared):
    expected = {_path(command) for command in for_front(Front.DISCORD)}
    assert set(declared) == expected


@pytest.mark.parametrize("command", for_front(Front.DISCORD), ids=lambda c: c.name)
def test_options_match_the_catalogue(declared, command: Command):
    wire = {option["name"]: option for option in declared[_path(command)].get("options", [])}
    options = command.options_for(Front.DISCORD)
    extras = ONLY_ON_DISCORD.get(_path(command), frozenset())
    assert set(wire) == {option.discord for option in options} | extras
    for option in options:
        sent = wire[option.discord]
        assert sent["type"] == RICHER_TYPES.get(option.name, TYPES[option.type]), option
        assert sent.get("required", False) == option.required, option
        low, high = (
            ("min_value", "max_value") if option.type is int else ("min_length", "max_length")
        )
        if sent["type"] in (STRING, INTEGER):
            assert (sent.get(low), sent.get(high)) == (option.min, option.max), option
        if option.choices:
            assert [choice["value"] for choice in sent["choices"]] == list(option.choices)


def test_admin_commands_are_hidden_from_members_by_default(bot):
    admin = bot.tree.get_command("episodes-admin")
    assert admin.default_permissions is not None and admin.default_permissions.manage_guild
