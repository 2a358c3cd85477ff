"""The platform-neutral message: what a post says, not how a platform draws it.

The core fills a `Message` with plain, unescaped text; each adapter renders it (Discord
embed, Slack Block Kit, console lines) and escapes user text in its own syntax, so no title
or URL typed by an admin can mention anyone. `mention` is the only ping a post may carry,
and only because the subscription opted in to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class MessageKind(StrEnum):
    TRAILER = "trailer"
    ANNOUNCED = "announced"
    MOVED = "moved"
    PREMIERE = "premiere"
    EPISODE = "episode"
    FINALE = "finale"
    REMINDER = "reminder"
    DIGEST = "digest"


# The posts a member may follow the show from ("Notify me"): drops, announcements, trailers.
FOLLOWABLE_KINDS = frozenset(
    {
        MessageKind.PREMIERE,
        MessageKind.EPISODE,
        MessageKind.FINALE,
        MessageKind.ANNOUNCED,
        MessageKind.TRAILER,
    }
)


@dataclass(frozen=True)
class MessageField:
    name: str
    value: str
    # A spoiler (an episode title the subscription hides): Discord wraps it in ||…||,
    # platforms without spoiler markup leave it out.
    spoiler: bool = False


@dataclass(frozen=True)
class MessageEntry:
    """One line of a list post (a digest): a drop at `at` (UTC; adapters show each reader's
    own time), e.g. "For All Mankind S4E1", marked "premiere" or "finale" or not at all."""

    at: datetime
    text: str
    mark: str | None = None


@dataclass(frozen=True)
class Message:
    kind: MessageKind
    title: str  # one line, e.g. "For All Mankind S4E1 is out"
    text: str  # a sentence or two of plain text
    show_title: str
    season_number: int
    episode_number: int | None = None
    fields: tuple[MessageField, ...] = ()
    link: str | None = None  # trailer or show page (http/https, validated by the core)
    link_label: str | None = None
    release_at: datetime | None = None  # UTC; adapters render it in each reader's timezone
    timezone: str | None = None  # the show's IANA zone, for renderers without local time
    mention: str | None = None  # opted-in role/group id; None pings nobody
    # The show the post is about, for the "Notify me" / "Unfollow" buttons (None: a digest).
    show_id: int | None = None
    entries: tuple[MessageEntry, ...] = ()

    def plain_text(self) -> str:
        """A one-paragraph fallback (Slack notification text, logs, console)."""
        return f"{self.title}: {self.text}" if self.text else self.title


def message_to_json(message: Message) -> dict:
    """The outbox stores each post as JSON, fixed when it falls due."""
    return {
        "kind": message.kind.value,
        "title": message.title,
        "text": message.text,
        "show_title": message.show_title,
        "season_number": message.season_number,
        "episode_number": message.episode_number,
        "fields": [[f.name, f.value, f.spoiler] for f in message.fields],
        "link": message.link,
        "link_label": message.link_label,
        "release_at": message.release_at.isoformat() if message.release_at else None,
        "timezone": message.timezone,
        "mention": message.mention,
        "show_id": message.show_id,
        "entries": [[e.at.isoformat(), e.text, e.mark] for e in message.entries],
    }


def message_from_json(data: dict) -> Message:
    return Message(
        kind=MessageKind(data["kind"]),
        title=data["title"],
        text=data["text"],
        show_title=data["show_title"],
        season_number=data["season_number"],
        episode_number=data.get("episode_number"),
        fields=tuple(MessageField(name, value, spoiler) for name, value, spoiler in data["fields"]),
        link=data.get("link"),
        link_label=data.get("link_label"),
        release_at=datetime.fromisoformat(data["release_at"]) if data.get("release_at") else None,
        timezone=data.get("timezone"),
        mention=data.get("mention"),
        show_id=data.get("show_id"),
        entries=tuple(
            MessageEntry(datetime.fromisoformat(at), text, mark)
            for at, text, mark in data.get("entries", ())
        ),
    )
