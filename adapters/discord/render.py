"""Core messages and replies -> Discord message payloads (plain dicts, as the REST API takes).

Why dicts rather than `discord.Embed`: the sender posts through `HTTPClient.request` with the
JSON body it needs (nonce, enforce_nonce, allowed_mentions), and tests can compare payloads
directly. Every piece of user text (show titles, episode titles, network names) is escaped so
that it can neither format nor mention; `allowed_mentions` is the second lock on the same door.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from discord.utils import escape_markdown, escape_mentions

from bot.messages import FOLLOWABLE_KINDS, Message, MessageEntry, MessageKind
from bot.replies import Link, PartRenderer, Reply

# Discord's documented limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELDS_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
EMBED_TOTAL_LIMIT = 6000
BUTTON_LABEL_LIMIT = 80
URL_LIMIT = 512
ELLIPSIS = "…"
INLINE_VALUE_LIMIT = 40  # a field value up to this long is shown inline (side by side)

NO_MENTIONS: dict[str, Any] = {"parse": []}

_COLORS = {
    MessageKind.TRAILER: 0xE67E22,
    MessageKind.ANNOUNCED: 0x3498DB,
    MessageKind.MOVED: 0xF1C40F,
    MessageKind.PREMIERE: 0x2ECC71,
    MessageKind.EPISODE: 0x2ECC71,
    MessageKind.FINALE: 0x9B59B6,
    MessageKind.REMINDER: 0x95A5A6,
    MessageKind.DIGEST: 0x5865F2,
}
# The follow buttons' custom ids, which survive restarts: the id alone says what to do
# (adapters/discord/buttons.py).
FOLLOW_ID = "episode-bot:follow:{show_id}"
UNFOLLOW_ID = "episode-bot:unfollow:{show_id}"
_ROLE_ID = re.compile(r"^<?@?&?(\d{1,20})>?$")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)((?:\\\\)*)\|")  # a pipe after an even run of backslashes


def truncate(text: str, limit: int) -> str:
    """Cut to `limit` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def safe_text(text: str) -> str:
    """User text made inert: no markdown, and no mention of anyone, even without
    `allowed_mentions` (`@everyone`, `@here`, `<@id>`, `<@&id>` get a zero-width space)."""
    escaped = escape_mentions(escape_markdown(text))
    return escaped.replace("<@", "<@\u200b").replace("<#", "<#\u200b")


def spoiler(escaped: str, limit: int) -> str:
    """`||text||` that only the final `||` closes, whatever the text looks like.

    `escape_markdown` leaves a `||` inside a URL as it is (and escapes pipes only in some
    patterns), so a title such as `https://x.example/||twist` would close the spoiler early
    and show the rest. Every pipe not already escaped gets a backslash; `safe_text` has
    doubled the text's own backslashes, so an even run before a pipe escapes nothing.
    """
    inner = _UNESCAPED_PIPE.sub(r"\1\\|", escaped)
    # A cut ends in the ellipsis, so it never leaves a backslash to escape the closing `||`.
    return "||" + truncate(inner, limit - 4) + "||"


def role_id(mention: str | None) -> str | None:
    """The role a subscription opted in to ping, or None (anything unexpected pings nobody)."""
    if not mention:
        return None
    match = _ROLE_ID.match(mention.strip())
    return match[1] if match else None


def timestamp(at: datetime, style: str) -> str:
    """A Discord timestamp: each reader sees it in their own timezone and language."""
    return f"<t:{int(at.timestamp())}:{style}>"


def post_marker(ref: str) -> str:
    """The embed footer that names the outbox row a post came from, so that the bot can find
    its own post again in the channel's history after a crash (Discord has no lookup by
    nonce, and remembers nonces for minutes only)."""
    return f"ref {ref}"


def render_message(
    message: Message, *, direct: bool = False, ref: str | None = None
) -> dict[str, Any]:
    """The body of `POST /channels/{id}/messages` for one post (without the nonce).

    `direct`: a follower's DM, which carries an "Unfollow" button; channel posts about a
    drop, an announcement or a trailer carry "Notify me". `ref`, the delivery's idempotency
    key, goes into the embed footer (`post_marker`)."""
    embed: dict[str, Any] = {
        "type": "rich",
        "title": truncate(safe_text(message.title), TITLE_LIMIT),
        "color": _COLORS.get(message.kind, 0x5865F2),
    }
    if message.text:
        embed["description"] = truncate(safe_text(message.text), DESCRIPTION_LIMIT)
    if message.entries:
        lines = [_entry_line(entry) for entry in message.entries]
        embed["description"] = truncate(
            "\n".join([embed.get("description", ""), *lines]).strip(), DESCRIPTION_LIMIT
        )
    link = _http_url(message.link)
    if link:
        embed["url"] = link
    if message.release_at is not None:
        embed["timestamp"] = message.release_at.isoformat()
    embed["fields"] = _fields(message)
    if ref is not None:
        embed["footer"] = {"text": post_marker(ref)}
    _fit_total(embed)

    payload: dict[str, Any] = {"embeds": [embed], "allowed_mentions": dict(NO_MENTIONS)}
    role = role_id(message.mention)
    if role is not None:
        payload["content"] = truncate(f"<@&{role}> {safe_text(message.title)}", CONTENT_LIMIT)
        payload["allowed_mentions"] = {"parse": [], "roles": [role]}
    buttons = []
    if link:
        label = message.link_label or ("Watch the trailer" if message.kind == "trailer" else "Open")
        buttons.append(
            {"type": 2, "style": 5, "label": truncate(label, BUTTON_LABEL_LIMIT), "url": link}
        )
    if message.show_id is not None and direct:
        custom_id = UNFOLLOW_ID.format(show_id=message.show_id)
        buttons.append({"type": 2, "style": 2, "label": "Unfollow", "custom_id": custom_id})
    elif message.show_id is not None and message.kind in FOLLOWABLE_KINDS:
        custom_id = FOLLOW_ID.format(show_id=message.show_id)
        buttons.append({"type": 2, "style": 1, "label": "Notify me", "custom_id": custom_id})
    if buttons:
        payload["components"] = [{"type": 1, "components": buttons}]
    return payload


def _entry_line(entry: MessageEntry) -> str:
    """A digest line: the time in each reader's own zone, the drop, premiere/finale marked."""
    mark = f" · **{entry.mark}**" if entry.mark else ""
    return f"{timestamp(entry.at, 'f')} · {safe_text(entry.text)}{mark}"


def _reply_link(link: Link) -> str:
    url = _http_url(link.url)
    # `<url>`: clickable, without the preview card a bare link would unfold.
    return f"<{url}>" if url and ">" not in url else safe_text(link.url)


REPLY_PARTS = PartRenderer(
    text=safe_text,
    when=lambda when: f"{timestamp(when.at, 'F')} ({timestamp(when.at, 'R')})",
    link=_reply_link,
    spoiler=lambda part: spoiler(safe_text(part.text), CONTENT_LIMIT),
)


def render_reply(reply: Reply) -> list[str]:
    """A command answer as one or more message contents (each within 2000 characters).

    The core's text parts are plain; they are escaped here so that names echoed back (a
    show called `@everyone`) stay inert. Instants become `<t:…:F>` and `<t:…:R>` stamps,
    which every reader sees in their own timezone. Long answers (a long schedule) are split
    on line boundaries.
    """
    text = "\n".join(reply.render(REPLY_PARTS))
    if reply.notices:
        text += "\n\n" + "\n".join("⚠ " + safe_text(n) for n in reply.notices)
    return split_lines(text or "Done.", CONTENT_LIMIT)


def split_lines(text: str, limit: int = CONTENT_LIMIT, max_parts: int = 5) -> list[str]:
    parts: list[str] = []
    current = ""
    for line in text.splitlines() or [""]:
        line = truncate(line, limit)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        parts.append(current)
        current = line
    parts.append(current)
    if len(parts) > max_parts:
        parts = parts[:max_parts]
        parts[-1] = truncate(parts[-1] + "\n" + ELLIPSIS, limit)
    return parts


def _fields(message: Message) -> list[dict[str, Any]]:
    """The core's fields as they are (they already name the show, season, episode, title),
    then the release time as a Discord timestamp, which each reader sees in their own zone.

    The renderer adds no Show/Season/Episode fields of its own: the core's `fields` carry
    them, and adding both showed each twice. Short values sit side by side (inline).
    """
    fields = []
    for extra in message.fields:
        value = safe_text(extra.value)
        if extra.spoiler:
            value = spoiler(value, FIELD_VALUE_LIMIT)
        inline = not extra.spoiler and len(value) <= INLINE_VALUE_LIMIT
        fields.append(_field(safe_text(extra.name), value, inline))
    if message.release_at is not None:
        when = f"{timestamp(message.release_at, 'F')} ({timestamp(message.release_at, 'R')})"
        # Kept within the 25-field cap: the release time matters more than a 25th note.
        fields = fields[: FIELDS_LIMIT - 1]
        fields.append(_field("Release", when, False))
    return fields[:FIELDS_LIMIT]


def _field(name: str, value: str, inline: bool) -> dict[str, Any]:
    return {
        "name": truncate(name, FIELD_NAME_LIMIT) or "\u200b",
        "value": truncate(value, FIELD_VALUE_LIMIT) or "\u200b",
        "inline": inline,
    }


def _embed_size(embed: dict[str, Any]) -> int:
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += len((embed.get("footer") or {}).get("text", ""))
    return size + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))


def _fit_total(embed: dict[str, Any]) -> None:
    """Keep the embed within 6000 characters: shorten the description, then drop fields."""
    excess = _embed_size(embed) - EMBED_TOTAL_LIMIT
    if excess > 0 and embed.get("description"):
        keep = max(1, len(embed["description"]) - excess)
        embed["description"] = truncate(embed["description"], keep)
    while _embed_size(embed) > EMBED_TOTAL_LIMIT and embed["fields"]:
        embed["fields"].pop()


def _http_url(url: str | None) -> str | None:
    if url and url.startswith(("https://", "http://")) and len(url) <= URL_LIMIT:
        return url
    return None
