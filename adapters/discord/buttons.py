"""The "Notify me" and "Unfollow" buttons: persistent components that survive restarts.

A post carries a button whose `custom_id` says everything needed to act on a click
(`episode-bot:follow:<show id>`, `episode-bot:unfollow:<show id>`; see render.py). They are
`discord.ui.DynamicItem`s registered on the client at start-up, so a click on a post made
weeks ago, before any number of restarts, still reaches the core: discord.py matches the
custom id against the template, nothing is kept in memory per message.

The answer goes to the clicker only (ephemeral), like every answer that concerns one member.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from typing import Any, ClassVar

import discord

from adapters.discord.interactions import answer, apology
from adapters.discord.render import FOLLOW_ID, UNFOLLOW_ID
from bot.commands import Commands, Reply
from bot.errors import BotError
from bot.models import Actor

log = logging.getLogger(__name__)

_SHOW_ID = r"(?P<show_id>[0-9]{1,18})"


class _ShowButton(discord.ui.DynamicItem[discord.ui.Button], template=r"(?!)"):
    """A button about one show that runs one core command (`method`) for the clicker."""

    custom_id_format: ClassVar[str]
    label: ClassVar[str]
    style: ClassVar[discord.ButtonStyle]
    method: ClassVar[str]

    def __init__(self, show_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=self.label,
                style=self.style,
                custom_id=self.custom_id_format.format(show_id=show_id),
            )
        )
        self.show_id = show_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> _ShowButton:
        return cls(int(match["show_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Run the core for the member who clicked (in the server where the post is, or in
        their DMs) and answer only to them."""
        core: Commands = interaction.client.core  # type: ignore[attr-defined]
        tenant = str(interaction.guild_id) if interaction.guild_id is not None else "@"
        actor = Actor("discord", tenant, str(interaction.user.id), can_manage_channels=False)
        try:
            reply = getattr(core, self.method)(actor, self.show_id)
        except BotError as error:
            reply = Reply.say(str(error))
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception("button %s failed (error id %s)", self.method, error_id)
            reply = apology(error_id)
        await answer(interaction, dataclasses.replace(reply, ephemeral=True))


class FollowButton(_ShowButton, template=FOLLOW_ID.format(show_id=_SHOW_ID)):
    """ "Notify me" on a channel post: the clicker follows the show (once, however often)."""

    custom_id_format = FOLLOW_ID
    label = "Notify me"
    style = discord.ButtonStyle.primary
    method = "follow"


class UnfollowButton(_ShowButton, template=UNFOLLOW_ID.format(show_id=_SHOW_ID)):
    """ "Unfollow" in a follower's DM."""

    custom_id_format = UNFOLLOW_ID
    label = "Unfollow"
    style = discord.ButtonStyle.secondary
    method = "unfollow"


BUTTONS = (FollowButton, UnfollowButton)
