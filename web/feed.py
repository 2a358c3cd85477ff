"""A calendar feed as RFC 5545 text, built with the `icalendar` library.

One VEVENT per drop. Its UID never changes, so a calendar app that sees the same UID with a
higher SEQUENCE moves the event instead of showing it twice. DTSTAMP is the drop's last
revision rather than the time of the request (RFC 5545 allows this when the calendar has
no METHOD), so the same schedule gives the same bytes and the same ETag.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from icalendar import Calendar, Event

from bot.calendar import CalendarEntry

PRODID = "-//episode-bot//calendar feed//EN"
EVENT_LENGTH = timedelta(hours=1)  # a drop is an instant; an hour reads well in calendars
REFRESH = timedelta(hours=1)  # how often apps that honour it should fetch again


def build_ics(entries: Sequence[CalendarEntry], *, name: str, page_url: str | None) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH)
    for entry in entries:
        event = Event()
        event.add("uid", entry.uid)
        event.add("sequence", entry.sequence)
        revised = entry.modified_at or entry.release_at
        event.add("dtstamp", revised)
        event.add("last-modified", revised)
        event.add("dtstart", entry.release_at)
        event.add("dtend", entry.release_at + EVENT_LENGTH)
        event.add("summary", entry.summary)
        if entry.description:
            event.add("description", entry.description)
        if entry.trailer_url:
            event.add("url", entry.trailer_url)
        elif page_url:
            event.add("url", page_url)
        event.add("categories", [entry.kind.value])
        event.add("transp", "TRANSPARENT")  # a drop does not make anyone busy
        event.add("status", "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical()
