"""What each post says: the one place that turns catalog records into neutral Messages.

Text here is plain and unescaped; adapters escape it for their platform. Times travel as
`release_at` (UTC) so Discord and Slack can show each reader their own timezone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from bot.messages import Message, MessageField, MessageKind
from bot.models import Episode, Season, Show
from bot.schedule import format_duration


def episode_label(season: Season, episodes: Sequence[Episode]) -> str:
    """S4E1, or S4E1–E2 for a drop of several episodes."""
    first, last = episodes[0].number, episodes[-1].number
    return f"S{season.number}E{first}" if first == last else f"S{season.number}E{first}–E{last}"


def season_name(season: Season) -> str:
    """4, or 4 “The Road to Rogue One” when the season has a title."""
    return f"{season.number} “{season.title}”" if season.title else str(season.number)


def long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def drop_kind(season: Season, episodes: Sequence[Episode]) -> MessageKind:
    numbers = {episode.number for episode in episodes}
    if 1 in numbers:
        return MessageKind.PREMIERE
    if season.episode_count in numbers:
        return MessageKind.FINALE
    return MessageKind.EPISODE


def release_message(
    show: Show,
    season: Season,
    episodes: Sequence[Episode],
    *,
    hide_titles: bool = False,
) -> Message:
    kind = drop_kind(season, episodes)
    label = episode_label(season, episodes)
    verb = "is" if len(episodes) == 1 else "are"
    heading = {
        MessageKind.PREMIERE: f"Season {season.number} premiere: {show.title} {label} {verb} out",
        MessageKind.FINALE: f"Season finale: {show.title} {label} {verb} out",
        MessageKind.EPISODE: f"{show.title} {label} {verb} out",
    }[kind]
    where = f" on {show.network}" if show.network else ""
    return Message(
        kind=kind,
        title=heading,
        text=f"New on {show.title}: {label}{where}.",
        show_title=show.title,
        season_number=season.number,
        episode_number=episodes[0].number,
        fields=_episode_fields(show, season, episodes, hide_titles) + credit_fields(show),
        link=season.trailer_url,
        link_label="Watch the trailer" if season.trailer_url else None,
        release_at=episodes[0].release_at,
        timezone=season.timezone,
        show_id=show.id,
    )


def reminder_message(
    show: Show,
    season: Season,
    episodes: Sequence[Episode],
    offset_seconds: int,
    *,
    hide_titles: bool = False,
) -> Message:
    label = episode_label(season, episodes)
    where = f" on {show.network}" if show.network else ""
    return Message(
        kind=MessageKind.REMINDER,
        title=f"{show.title} {label} drops in {format_duration(offset_seconds)}",
        text=f"Coming up{where}: {show.title} {label}.",
        show_title=show.title,
        season_number=season.number,
        episode_number=episodes[0].number,
        fields=_episode_fields(show, season, episodes, hide_titles) + credit_fields(show),
        link=season.trailer_url,
        link_label="Watch the trailer" if season.trailer_url else None,
        release_at=episodes[0].release_at,
        timezone=season.timezone,
        show_id=show.id,
    )


def announced_message(show: Show, season: Season, episodes: Sequence[Episode]) -> Message:
    where = f" on {show.network}" if show.network else ""
    count = f"{season.episode_count} episode" + ("s" if season.episode_count != 1 else "")
    return Message(
        kind=MessageKind.ANNOUNCED,
        title=f"{show.title} season {season.number} is coming",
        text=(
            f"{count}, premiering {long_date(season.premiere)}{where}, {season.cadence.describe()}."
        ),
        show_title=show.title,
        season_number=season.number,
        fields=_season_fields(season, episodes) + credit_fields(show),
        link=season.trailer_url,
        link_label="Watch the trailer" if season.trailer_url else None,
        release_at=episodes[0].release_at if episodes else None,
        timezone=season.timezone,
        show_id=show.id,
    )


def trailer_message(show: Show, season: Season, url: str) -> Message:
    return Message(
        kind=MessageKind.TRAILER,
        title=f"Trailer: {show.title} season {season.number}",
        text=f"The trailer for {show.title} season {season.number} is out.",
        show_title=show.title,
        season_number=season.number,
        link=url,
        link_label="Watch the trailer",
        release_at=None,
        timezone=season.timezone,
        show_id=show.id,
    )


def moved_message(
    show: Show,
    season: Season,
    episodes: Sequence[Episode],
    old_premiere: date,
    new_premiere: date,
    *,
    episodes_label: str | None = None,
) -> Message:
    """The premiere moved, or (`episodes_label`, e.g. "S4E5") a later drop did."""
    what = episodes_label or f"season {season.number}"
    moved = f"{episodes_label} moved" if episodes_label else "The premiere moved"
    return Message(
        kind=MessageKind.MOVED,
        title=f"{show.title} {what} has a new date",
        text=f"{moved} from {long_date(old_premiere)} to {long_date(new_premiere)}.",
        show_title=show.title,
        season_number=season.number,
        fields=_season_fields(season, episodes) + credit_fields(show),
        link=season.trailer_url,
        link_label="Watch the trailer" if season.trailer_url else None,
        release_at=episodes[0].release_at if episodes else None,
        timezone=season.timezone,
        show_id=show.id,
    )


def addressed(message: Message, mention: str | None) -> Message:
    """The message as posted to one subscription: with the role (Discord) or user group
    (Slack) the subscription asked to ping. A digest, one post for the whole channel about
    many shows, pings nobody.

    Applied when a post is sent, not when it is planned: a drop's message is then the same
    for every channel, however many roles they ping, and stored once."""
    if message.kind == MessageKind.DIGEST:
        return message
    return replace(message, mention=mention)


def _episode_fields(
    show: Show, season: Season, episodes: Sequence[Episode], hide_titles: bool
) -> tuple[MessageField, ...]:
    fields = [
        MessageField("Show", show.title),
        MessageField("Season", season_name(season)),
        MessageField(
            "Episode" if len(episodes) == 1 else "Episodes",
            ", ".join(str(episode.number) for episode in episodes) + f" of {season.episode_count}",
        ),
    ]
    titles = [episode.title for episode in episodes if episode.title]
    if titles:
        fields.append(MessageField("Title", "; ".join(titles), spoiler=hide_titles))
    return tuple(fields)


def _season_fields(season: Season, episodes: Sequence[Episode]) -> tuple[MessageField, ...]:
    fields = [
        MessageField("Season", season_name(season)),
        MessageField("Episodes", str(season.episode_count)),
        MessageField("Premiere", long_date(season.premiere)),
        MessageField("Schedule", season.cadence.describe()),
    ]
    if episodes:
        last: datetime = episodes[-1].release_at
        fields.append(MessageField("Finale (UTC)", f"{last:%Y-%m-%d %H:%M}"))
    return tuple(fields)


def credit_fields(show: Show) -> tuple[MessageField, ...]:
    """The credit a source's licence asks for (TVmaze: CC BY-SA, a link to the show)."""
    return (MessageField("Source", show.credit),) if show.credit else ()
