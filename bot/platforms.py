"""Channel syntax per platform: the declarative table the core validates channels with.

The core needs to know what a channel of each platform looks like (to refuse
`discord:1/abc` at the command, not when a post fails) but must not import any platform
library. So each platform declares its syntax here, as data; the rest of a platform (its
settings check, sender and adapter) is registered by the composition root
(`episode_bot/platforms.py`), which imports the platform's package only when it is
configured. Adding a platform: one `ChannelSyntax` here, one `Platform` there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ChannelSyntax:
    """How a platform's channels are written: `name:TENANT/CHANNEL`, or `name:CHANNEL` for a
    platform with one fixed tenant (the local console)."""

    name: str
    label: str  # as users know it: "Discord"
    channel_id: re.Pattern[str]
    channel_words: str  # what a channel id is, for error messages
    example: str
    tenant_id: re.Pattern[str] | None = None
    tenant_words: str = ""
    fixed_tenant: str | None = None  # set: the platform has no tenants to name
    # Members who follow shows (`<name>-user:…`): their id, and whether it is only unique
    # within a tenant (Slack: per workspace) or across the platform (Discord).
    user_id: re.Pattern[str] | None = None
    users_per_tenant: bool = False

    @property
    def shape(self) -> str:
        if self.fixed_tenant is not None:
            return f"{self.name}:NAME"
        return f"{self.name}:TENANT/CHANNEL"

    @property
    def user_shape(self) -> str:
        if self.fixed_tenant is not None:
            return f"{self.name}-user:NAME"
        return f"{self.name}-user:{'TEAM/' if self.users_per_tenant else ''}ID"


DISCORD = ChannelSyntax(
    name="discord",
    label="Discord",
    # Snowflakes: 17-20 digits in practice; any run of digits that fits in 64 bits is taken.
    tenant_id=re.compile(r"[0-9]{1,20}"),
    tenant_words="a server id is a number (a snowflake, up to 20 digits)",
    channel_id=re.compile(r"[0-9]{1,20}"),
    channel_words="a channel id is a number (a snowflake, up to 20 digits)",
    example="discord:123456789012345678/234567890123456789",
    user_id=re.compile(r"[0-9]{1,20}"),
)
SLACK = ChannelSyntax(
    name="slack",
    label="Slack",
    # Slack's ids: T… workspaces (E… Enterprise Grid orgs), C… channels, G… private channels
    # and group DMs, D… direct messages; uppercase letters and digits.
    tenant_id=re.compile(r"[TE][A-Z0-9]{1,20}"),
    tenant_words="a workspace id starts with T (or E for Enterprise Grid), then A-Z and 0-9",
    channel_id=re.compile(r"[CGD][A-Z0-9]{1,20}"),
    channel_words="a channel id starts with C, G or D, then A-Z and 0-9",
    example="slack:T0123ABCD/C0456EFGH",
    user_id=re.compile(r"[UW][A-Z0-9]{1,20}"),  # W…: Enterprise Grid members
    users_per_tenant=True,
)
CONSOLE = ChannelSyntax(
    name="console",
    label="the console",
    channel_id=re.compile(r"[A-Za-z0-9_.-]{1,64}"),
    channel_words="a console channel is a simple name (letters, digits, _ . -, up to 64)",
    example="console:general",
    fixed_tenant="local",
    user_id=re.compile(r"[A-Za-z0-9_.-]{1,64}"),
)

CHANNEL_SYNTAXES: dict[str, ChannelSyntax] = {s.name: s for s in (DISCORD, SLACK, CONSOLE)}


def platform_names() -> tuple[str, ...]:
    """Every platform the core knows a channel syntax for."""
    return tuple(CHANNEL_SYNTAXES)


def channel_syntax(platform: str) -> ChannelSyntax | None:
    return CHANNEL_SYNTAXES.get(platform)
