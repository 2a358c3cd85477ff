"""Core messages and replies -> Slack payloads (Block Kit + plain `text` fallback).

Why escaping lives here: the core hands over plain, unescaped text (show titles typed by an
admin, episode titles from announcements). In Slack's markup `<` starts a control sequence
(`<!channel>`, `<@U123>`, `<!subteam^S1>`, `<https://…|label>`), so every piece of user text is
escaped (`&`, `<`, `>`) before it touches a payload. The only control sequences this module
emits are ones it builds itself: a date token and, when the subscription opted in, one user
group mention.

Slack's limits (https://api.slack.com/reference/block-kit/blocks): at most 50 blocks, header
text 150 chars, section text 3000, a field 2000 and 10 fields per section, button text 75,
button URL 3000. Longer text is cut with an ellipsis, never rejected: a drop post that is a
bit shorter beats one that fails with `invalid_blocks`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.messages import FOLLOWABLE_KINDS, Message, MessageEntry, MessageField
from bot.replies import Link, PartRenderer, Reply

MAX_BLOCKS = 50
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
FIELDS_PER_SECTION = 10
BUTTON_TEXT_LIMIT = 75
URL_LIMIT = 3000
TEXT_LIMIT = 3000  # the notification fallback; Slack truncates `text` beyond 40k anyway
REPLY_LIMIT = 12000
ELLIPSIS = "…"
POST_DATE_FORMAT = "{date_long_pretty} {time}"  # a drop post: "Friday, November 10th 12:00 AM"
REPLY_DATE_FORMAT = "{date_short_pretty} {time}"  # a line of a list: "Nov 10, 2023 12:00 AM"

# The follow buttons: Bolt routes a click by `action_id`; `value` carries the show's id.
FOLLOW_ACTION = "episode_bot_follow"
UNFOLLOW_ACTION = "episode_bot_unfollow"

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,30}$")


@dataclass(frozen=True)
class SlackPayload:
    """Keyword arguments for chat.postMessage / respond(): `text` plus optional `blocks`."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


def escape(text: str) -> str:
    """Escape the three characters Slack's markup treats specially (and only those)."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def fit(text: str, limit: int) -> str:
    """Escape `text` and cut it so the escaped result is at most `limit` characters.

    Cutting after escaping could split an entity (`&am…`); this cuts between source
    characters instead and leaves room for the ellipsis.
    """
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    size = 0
    for ch in text:
        piece = _ESCAPES.get(ch, ch)
        if size + len(piece) + len(ELLIPSIS) > limit:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out).rstrip() + ELLIPSIS


def date_token(
    when: datetime, timezone: str | None = None, token_format: str = POST_DATE_FORMAT
) -> str:
    """`<!date^UNIX^{token_format}|fallback>`: each reader sees their own zone.

    The fallback (for clients that cannot render the token, and notifications) is the time in
    the show's zone when known, else UTC.
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    zone_name = "UTC"
    local = when.astimezone(UTC)
    if timezone:
        try:
            local = when.astimezone(ZoneInfo(timezone))
            zone_name = timezone
        except (ZoneInfoNotFoundError, ValueError):
            pass
    fallback = f"{local:%a %d %b %Y %H:%M} {zone_name}"
    return f"<!date^{int(when.timestamp())}^{token_format}|{escape(fallback)}>"


def group_mention(group_id: str | None) -> str | None:
    """The one ping a post may carry: `<!subteam^ID>`, only for a well-formed group id."""
    if group_id and _GROUP_ID.match(group_id):
        return f"<!subteam^{group_id}>"
    return None


def _safe_url(url: str | None) -> str | None:
    if not url or len(url) > URL_LIMIT or not url.lower().startswith(("https://", "http://")):
        return None
    if any(ch in url for ch in "<>| \n"):
        return None
    return url


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": fit(text, limit), "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn text object with `verbatim`: Slack must not turn a bare `@here`, `#channel`
    or URL typed into a title into a mention or link. The control sequences built here
    (`<!date^…>`, `<!subteam^…>`) still work: verbatim only stops the guessing."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(mrkdwn)}


def _field(item: MessageField) -> dict[str, Any]:
    name = fit(item.name, 200)
    value = fit(item.value, FIELD_LIMIT - len(name) - 4)
    return _mrkdwn(f"*{name}*\n{value}")


def verbatim_blocks(text: str) -> list[dict[str, Any]]:
    """An answer's (escaped) text as verbatim sections, split on lines to fit each."""
    sections: list[str] = []
    for line in text.split("\n"):
        line = line[:SECTION_LIMIT]
        if sections and len(sections[-1]) + 1 + len(line) <= SECTION_LIMIT:
            sections[-1] += "\n" + line
        else:
            sections.append(line)
    return [_section(part or " ") for part in sections[:MAX_BLOCKS]]


def render_message(message: Message, *, direct: bool = False) -> SlackPayload:
    """A post: header, text (+ opted-in mention and local time), fields or digest lines, and
    buttons: the link, "Notify me" on a channel's drop/announcement/trailer posts, "Unfollow"
    in a follower's DM (`direct`)."""
    mention = group_mention(message.mention)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(message.title, HEADER_LIMIT)}]

    lead = f"{mention} " if mention else ""
    when = ""
    if message.release_at is not None:
        when = f"\n:date: {date_token(message.release_at, message.timezone)}"
    room = SECTION_LIMIT - len(lead) - len(when)
    body = fit(message.text, room) if message.text else ""
    if lead or body or when:
        blocks.append(_section((lead + body + when).strip() or " "))

    fields = [f for f in message.fields if not f.spoiler]  # Slack has no spoiler markup
    max_sections = MAX_BLOCKS - len(blocks) - 1  # leave room for the actions block
    for entry in message.entries[:max_sections]:  # a digest: one line per drop
        blocks.append(_section(_entry_line(entry, message.timezone)))
    max_sections -= min(len(message.entries), max_sections)
    for start in range(0, len(fields), FIELDS_PER_SECTION):
        if max_sections <= 0:
            break
        chunk = fields[start : start + FIELDS_PER_SECTION]
        blocks.append({"type": "section", "fields": [_field(f) for f in chunk]})
        max_sections -= 1

    buttons = []
    url = _safe_url(message.link)
    if url is not None:
        label = message.link_label or ("Watch the trailer" if "trailer" in message.kind else "Open")
        buttons.append(
            {
                "type": "button",
                "action_id": "episode_link",
                "text": _plain(label, BUTTON_TEXT_LIMIT),
                "url": url,
            }
        )
    if message.show_id is not None and (direct or message.kind in FOLLOWABLE_KINDS):
        action, label = (UNFOLLOW_ACTION, "Unfollow") if direct else (FOLLOW_ACTION, "Notify me")
        button = {
            "type": "button",
            "action_id": action,
            "text": _plain(label, BUTTON_TEXT_LIMIT),
            "value": str(message.show_id),
        }
        if not direct:
            button["style"] = "primary"
        buttons.append(button)
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})

    text = lead + fit(message.plain_text(), TEXT_LIMIT - len(lead))
    return SlackPayload(text=text, blocks=blocks[:MAX_BLOCKS])


def _entry_line(entry: MessageEntry, timezone: str | None) -> str:
    """A digest line: the time in each reader's own zone, the drop, premiere/finale marked."""
    mark = f" · *{escape(entry.mark)}*" if entry.mark else ""
    return f"{date_token(entry.at, timezone)} · {fit(entry.text, 500)}{mark}"


def render_reply_text(text: str) -> str:
    """A command answer as Slack text: escaped, so echoed titles never ping anyone."""
    return fit(text, REPLY_LIMIT)


def _reply_link(link: Link) -> str:
    url = _safe_url(link.url)
    return f"<{escape(url)}>" if url else escape(link.url)


REPLY_PARTS = PartRenderer(
    text=escape,
    when=lambda when: date_token(when.at, when.timezone, REPLY_DATE_FORMAT),
    link=_reply_link,
    spoiler=lambda spoiler: "(hidden)",  # Slack has no spoiler markup
)


def render_reply(reply: Reply) -> dict[str, Any]:
    """A core `Reply` -> keyword arguments for Bolt's `respond()`.

    Ephemeral unless the catalogue says the answer is for the whole channel. Instants
    become date tokens so each reader sees their own zone. Admin notices (paused
    subscriptions) are appended as separate lines. A long answer keeps its first lines
    (whole, so no token or entity is cut) and ends with an ellipsis.
    """
    kept: list[str] = []
    size = 0
    for rendered in reply.render(REPLY_PARTS):
        if size + len(rendered) + 1 > REPLY_LIMIT - len(ELLIPSIS):
            kept.append(ELLIPSIS)
            break
        kept.append(rendered)
        size += len(rendered) + 1
    body = "\n".join(kept)
    notices = [render_reply_text(n) for n in reply.notices if n]
    text = "\n".join(part for part in (body, *notices) if part)
    response_type = "ephemeral" if reply.ephemeral else "in_channel"
    return {
        "text": text or " ",
        "blocks": verbatim_blocks(text or " "),
        "response_type": response_type,
    }
