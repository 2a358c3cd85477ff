"""The local console adapter: the embedded default when no Discord/Slack credentials are set.

Posts to `console:NAME` channels are printed to a stream (stdout). On a terminal, `run`
also reads commands typed at a prompt and runs them through the same CLI commands (built
from the command catalogue, so the same core functions and validation) as the operator, on
the database the bot runs on, so a new user can try everything without creating a Discord
or Slack app.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import Callable
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.catalogue import CATALOGUE
from bot.messages import Message
from bot.sender import Delivery, SendReceipt


def render(message: Message, channel: str) -> str:
    """A post as a few lines of plain text (no escaping needed: a console pings nobody)."""
    when = ""
    if message.release_at is not None:
        zone = ZoneInfo(message.timezone or "UTC")
        local = message.release_at.astimezone(zone)
        when = f" · {local:%a %d %b %Y %H:%M} {local.tzname()}"
    lines = [f"[{channel}]{when} · {message.title}"]
    if message.text:
        lines.append(f"    {message.text}")
    fields = [
        f"{field.name}: {'(hidden)' if field.spoiler else field.value}" for field in message.fields
    ]
    if fields:
        lines.append("    " + " | ".join(fields))
    zone = ZoneInfo(message.timezone or "UTC")
    for entry in message.entries:  # a digest: its times in the digest's own timezone
        local = entry.at.astimezone(zone)
        mark = f" ({entry.mark})" if entry.mark else ""
        lines.append(f"    {local:%a %d %b %H:%M} {local.tzname()}  {entry.text}{mark}")
    if message.link:
        lines.append(f"    {message.link_label or 'Link'}: {message.link}")
    return "\n".join(lines)


class ConsoleSender:
    """Prints each post. The console keeps no history, so `find_sent` cannot tell; a post
    interrupted by a crash between printing and recording may print again on restart."""

    platform = "console"
    max_concurrency = 1

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    async def start(self) -> None:
        """Nothing to open: the stream is there."""

    async def close(self) -> None:
        """Nothing to close: the stream is not ours."""

    async def send(self, delivery: Delivery) -> SendReceipt:
        stream = self.stream or sys.stdout
        print(render(delivery.message, str(delivery.channel)), file=stream, flush=True)
        return SendReceipt(platform_message_id=f"console-{delivery.outbox_id}")

    async def find_sent(self, delivery: Delivery) -> SendReceipt | None:
        return None


class ConsoleAdapter:
    """Posts to stdout; on a terminal, also a prompt that accepts the CLI's commands."""

    platform = "console"

    def __init__(
        self,
        run_command: Callable[[list[str]], int] | None = None,
        *,
        stream: TextIO | None = None,
        interactive: bool = False,
        read_line: Callable[[], str | None] | None = None,
    ) -> None:
        self.sender = ConsoleSender(stream)
        self._run_command = run_command
        self._interactive = interactive and run_command is not None
        self._read_line = read_line or _read_line
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        if self._interactive:
            self._task = asyncio.create_task(self._prompt_loop(), name="console-prompt")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def on_schedule_changed(self) -> None:
        """Nothing on a console mirrors the schedule."""

    async def _prompt_loop(self) -> None:
        print(
            'Type a command, e.g. `shows`, `schedule "For All Mankind"`, or `help`; '
            "`quit` (or Ctrl-D) leaves the prompt, the bot keeps running until Ctrl-C.",
            flush=True,
        )
        while True:
            line = await asyncio.to_thread(self._read_line)
            if line is None or line.strip().lower() in QUIT_WORDS:
                print("Left the prompt; the bot keeps running until Ctrl-C.", flush=True)
                return
            args = parse_console_line(line)
            if args and self._run_command is not None:
                await asyncio.to_thread(self._run_command, args)


QUIT_WORDS = frozenset({"quit", "exit"})
# Commands the running bot is doing itself (`run`, and `deliver`: a second engine in this
# process would race the running one for the same posts).
NOT_AT_THE_PROMPT = frozenset(command.words[0] for command in CATALOGUE if not command.in_prompt)
# Global options of the CLI that pick another database than the bot's.
DATABASE_OPTIONS = ("--db",)


def parse_console_line(line: str) -> list[str]:
    """Split a typed line like a shell would; `help` becomes `--help`.

    Returns [] (after saying why on stderr) for what the prompt does not run.
    """
    try:
        args = shlex.split(line)
    except ValueError as error:
        print(f"error: {error}. Close your quotes.", file=sys.stderr)
        return []
    if args[:1] == ["help"]:
        args = [*args[1:], "--help"]
    if args[:1] and args[0] in NOT_AT_THE_PROMPT:
        print("error: the bot is already running and delivering.", file=sys.stderr)
        return []
    if any(arg.split("=", 1)[0] in DATABASE_OPTIONS for arg in args):
        print(
            "error: the prompt always uses the database the bot runs on; --db cannot switch "
            "it here. For another database, run `episode-bot --db PATH ...` in a shell.",
            file=sys.stderr,
        )
        return []
    return args


def _read_line() -> str | None:
    try:
        return input("episode-bot> ")
    except EOFError:
        return None
