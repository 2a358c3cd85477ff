"""A command's answer as structured content, so each front end draws it its own way.

The core never formats an instant, a link or a spoiler into text meant for one platform:
a `Line` is a sequence of parts, plain text and the typed pieces below, and each adapter
renders the parts (Discord `<t:UNIX:F>` stamps, Slack `<!date^…>` tokens, the console and
CLI the show's own zone). No adapter has to find a time back in the text.

Text parts are plain and unescaped; adapters escape them for their platform.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class When:
    """An instant. Chat platforms show it in each reader's own zone; the console and CLI in
    `timezone` (the show's), followed by the UTC time when `show_utc` is set."""

    at: datetime  # aware
    timezone: str
    show_utc: bool = False

    def local_text(self) -> str:
        local = self.at.astimezone(ZoneInfo(self.timezone))
        return f"{local:%a %d %b %Y %H:%M} {local.tzname()}"

    def utc_text(self) -> str:
        return f"{self.at.astimezone(ZoneInfo('UTC')):%Y-%m-%d %H:%M} UTC"

    def plain(self) -> str:
        return f"{self.local_text()} ({self.utc_text()})" if self.show_utc else self.local_text()


@dataclass(frozen=True)
class Link:
    """A URL the core validated (http/https); platforms may make it clickable."""

    url: str


@dataclass(frozen=True)
class Spoiler:
    """Text a reader should choose to see (Discord: `||…||`); plain front ends hide it."""

    text: str


Part = str | When | Link | Spoiler


@dataclass(frozen=True)
class Line:
    parts: tuple[Part, ...]

    def instants(self) -> tuple[When, ...]:
        return tuple(part for part in self.parts if isinstance(part, When))


def line(*parts: Part) -> Line:
    return Line(tuple(part for part in parts if part != ""))


@dataclass(frozen=True)
class PartRenderer:
    """How one front end draws each kind of part (text escaping included)."""

    text: Callable[[str], str]
    when: Callable[[When], str]
    link: Callable[[Link], str]
    spoiler: Callable[[Spoiler], str]

    def line(self, one: Line) -> str:
        out = []
        for part in one.parts:
            if isinstance(part, When):
                out.append(self.when(part))
            elif isinstance(part, Link):
                out.append(self.link(part))
            elif isinstance(part, Spoiler):
                out.append(self.spoiler(part))
            else:
                out.append(self.text(part))
        return "".join(out)


PLAIN = PartRenderer(
    text=lambda text: text,
    when=When.plain,
    link=lambda link: link.url,
    spoiler=lambda spoiler: "(hidden)",
)


@dataclass(frozen=True)
class Reply:
    """A command's answer.

    `lines` are the answer itself; `data` is the same answer as JSON-able data (CLI
    --json); `ephemeral` says whether only the invoker should see it (the catalogue decides
    per command); `notices` are things the tenant's admins must hear about (paused
    subscriptions).
    """

    lines: tuple[Line, ...]
    data: Any = None
    ephemeral: bool = True
    notices: tuple[str, ...] = field(default=())

    @classmethod
    def say(cls, text: str, **kwargs: Any) -> Reply:
        """A reply of plain text lines (refusals, apologies, confirmations)."""
        return cls(tuple(line(each) for each in text.split("\n")), **kwargs)

    def render(self, renderer: PartRenderer) -> list[str]:
        return [renderer.line(each) for each in self.lines]

    @property
    def text(self) -> str:
        """The console and CLI rendering: times in the show's zone."""
        return "\n".join(self.render(PLAIN))
