"""The local console adapter: the embedded default when no Discord/Slack credentials are set.

Posts to `console:NAME` channels are printed to a stream (stdout). On a terminal, `run`
also reads commands typed at a prompt and runs them through the same CLI commands (so the
same core functions and validation) as the operator, so a new user can try everything
without creating a Discord or Slack app.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import Callable
from typing import TextIO
from zoneinfo import ZoneInfo

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
    ) -> None:
        self.sender = ConsoleSender(stream)
        self._run_command = run_command
        self._interactive = interactive and run_command is not None
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
            "Ctrl-D leaves the prompt (the bot keeps running until Ctrl-C).",
            flush=True,
        )
        while True:
            line = await asyncio.to_thread(_read_line)
            if line is None:
                return
            args = parse_console_line(line)
            if args:
                await asyncio.to_thread(self._run_command, args)


def parse_console_line(line: str) -> list[str]:
    """Split a typed line like a shell would; `help` becomes `--help`."""
    try:
        args = shlex.split(line)
    except ValueError as error:
        print(f"error: {error}. Close your quotes.", file=sys.stderr)
        return []
    if args[:1] == ["help"]:
        args = [*args[1:], "--help"]
    if args[:1] in (["run"], ["deliver"]):
        # A second engine in this process would race the running one for the same posts.
        print("error: the bot is already running and delivering.", file=sys.stderr)
        return []
    return args


def _read_line() -> str | None:
    try:
        return input("episode-bot> ")
    except EOFError:
        return None
