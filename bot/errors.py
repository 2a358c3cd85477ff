"""Typed errors whose message a user can act on.

Every front end (CLI, console, Discord, Slack) shows `str(error)` as is; it never contains
a traceback, a token or unescaped user text that could ping anyone (adapters escape it).
"""

from __future__ import annotations


class BotError(Exception):
    """Base class: something the user asked for cannot be done, and why."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} {hint}" if hint else message)


class InvalidInput(BotError):
    """A value is malformed or out of range (date, timezone, count, URL, text)."""

    def __init__(self, field: str, message: str, *, hint: str | None = None) -> None:
        self.field = field
        super().__init__(message, hint=hint)


class UnknownShow(BotError):
    """No show with that title is visible to the caller; `suggestions` are close titles."""

    def __init__(self, title: str, suggestions: list[str]) -> None:
        self.title = title
        self.suggestions = suggestions
        hint = (
            "Did you mean: " + ", ".join(f'"{s}"' for s in suggestions) + "?"
            if suggestions
            else "List the shows with `shows`, or ask an admin to add it with `show add`."
        )
        super().__init__(f'No show called "{title}".', hint=hint)


class NotFound(BotError):
    """A season, episode or subscription that the command names does not exist."""


class AlreadyExists(BotError):
    """The thing to add exists already (duplicate show title, duplicate season)."""


class PermissionDenied(BotError):
    """The caller lacks the right for this command, or the data belongs to another tenant."""


class DatabaseUnusable(BotError):
    """The database file cannot be used as it is (missing directory, not an episode-bot
    database, a newer schema); nothing was written to it."""


class DatabaseReadOnly(BotError):
    """A change was asked of a database this process may only read."""
