"""Interaction payloads as Discord documents them, built from the JSON fixtures.

https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object
Subcommands nest as options (type 1 SUB_COMMAND inside type 2 SUB_COMMAND_GROUP); an
autocomplete interaction (type 4) marks the option being typed with `focused: true`.
"""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import discord

FIXTURES = Path(__file__).resolve().parent / "discord_payloads"
GUILD_A = "900000000000000001"
GUILD_B = "900000000000000002"
CHANNEL_A = "900000000000000101"
CHANNEL_B = "900000000000000201"
USER = "800000000000000001"

ADMIN = discord.Permissions(manage_guild=True, manage_channels=True).value
MANAGER = discord.Permissions(manage_channels=True).value
MEMBER = discord.Permissions(send_messages=True).value

_ids = itertools.count(1200000000000000100)
_OPTION_TYPES = {bool: 5, int: 4, str: 3}


def _load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def options(**values: Any) -> list[dict[str, Any]]:
    """`name=value` -> typed command options (str 3, int 4, bool 5)."""
    return [
        {"name": name, "type": _OPTION_TYPES[type(value)], "value": value}
        for name, value in values.items()
    ]


def command(
    path: str,
    opts: list[dict[str, Any]] | None = None,
    *,
    guild: str = GUILD_A,
    channel: str = CHANNEL_A,
    permissions: int = MEMBER,
    user: str = USER,
    resolved: dict[str, Any] | None = None,
    focused: str | None = None,
) -> dict[str, Any]:
    """`"episodes-admin season add"` + options -> an APPLICATION_COMMAND (or autocomplete,
    when `focused` names the option being typed) interaction payload."""
    payload = _load("application_command.json")
    payload["id"] = str(next(_ids))
    payload["token"] = f"token-{payload['id']}"
    payload["guild_id"] = guild
    payload["channel_id"] = channel
    payload["channel"].update(id=channel, guild_id=guild)
    payload["authorizing_integration_owners"] = {"0": guild}
    payload["member"]["permissions"] = str(permissions)
    payload["member"]["user"]["id"] = user
    payload["data"] = _data(path, opts or [], focused)
    if resolved:
        payload["data"]["resolved"] = resolved
    if focused is not None:
        payload["type"] = 4
    return payload


def dm_command(path: str, opts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    payload = _load("dm_command.json")
    payload["id"] = str(next(_ids))
    payload["data"] = _data(path, opts or [], None)
    return payload


def role(role_id: str, name: str = "Watchers", *, mentionable: bool = True) -> dict[str, Any]:
    return {
        "id": role_id,
        "name": name,
        "color": 0,
        "hoist": False,
        "position": 1,
        "permissions": "0",
        "managed": False,
        "mentionable": mentionable,
        "flags": 0,
    }


def _data(path: str, opts: list[dict[str, Any]], focused: str | None) -> dict[str, Any]:
    opts = copy.deepcopy(opts)
    for option in opts:
        if option["name"] == focused:
            option["focused"] = True
    root, *subs = path.split()
    for index, name in enumerate(reversed(subs)):
        kind = 1 if index == 0 else 2  # the leaf is a SUB_COMMAND, above it a GROUP
        opts = [{"name": name, "type": kind, "options": opts}]
    return {"id": "1300000000000000001", "name": root, "type": 1, "options": opts}


def component(
    message: dict[str, Any], custom_id: str, *, user: str = USER, dm: bool = False
) -> dict[str, Any]:
    """The MESSAGE_COMPONENT interaction (type 3) Discord sends when `user` clicks the button
    `custom_id` on `message` (a message object as the server stored it), in a server channel
    or, with `dm`, in the user's DMs (then no guild and no member: a `user`)."""
    payload = _load("message_component.json")
    payload["id"] = str(next(_ids))
    payload["token"] = f"token-{payload['id']}"
    payload["message"] = copy.deepcopy(message)
    payload["data"]["custom_id"] = custom_id
    payload["member"]["user"]["id"] = user
    if dm:
        member = payload.pop("member")
        for key in ("guild_id", "authorizing_integration_owners", "guild_locale"):
            payload.pop(key)
        payload["user"] = member["user"]
        payload["channel_id"] = message["channel_id"]
        payload["channel"] = {"id": message["channel_id"], "type": 1}
        payload["context"] = 1
    return payload
