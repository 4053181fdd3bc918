"""An event as an iCalendar file (RFC 5545), for "Add to calendar"."""

from datetime import UTC

from icalendar import Calendar
from icalendar import Event as CalendarEvent

from events.models import Event

PRODID = "-//Grasshopper//Tickets for live music//EN"


def event_uid(event: Event) -> str:
    """Stable across downloads and edits, so that a calendar updates the entry instead of adding one."""
    return f"event-{event.pk}@grasshopper"


def event_location(event: Event) -> str:
    venue = event.venue
    town = " ".join(part for part in (venue.postal_code, venue.city) if part)
    return ", ".join(part for part in (venue.name, venue.address, town, venue.country) if part)


def event_ics(*, event: Event, url: str) -> bytes:
    """One VEVENT with times in UTC. ``url`` is the event page's absolute URL. Without an end time the
    entry has none (a calendar then shows the start only) rather than a made-up one."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")

    entry = CalendarEvent()
    entry.add("uid", event_uid(event))
    entry.add("dtstamp", event.modified.astimezone(UTC))
    # Raised each time the start or doors time moved: with the same UID, a calendar replaces its entry.
    entry.add("sequence", event.schedule_version - 1)
    entry.add("dtstart", event.starts_at.astimezone(UTC))
    if event.ends_at:
        entry.add("dtend", event.ends_at.astimezone(UTC))
    entry.add("summary", event.title)
    entry.add("location", event_location(event))
    if event.venue.latitude is not None and event.venue.longitude is not None:
        entry.add("geo", (float(event.venue.latitude), float(event.venue.longitude)))
    entry.add("url", url)
    description = "\n\n".join(
        part for part in (event.description.strip(), f"Tickets and details: {url}") if part
    )
    entry.add("description", description)
    if event.status == Event.Status.CANCELLED:
        entry.add("status", "CANCELLED")
    elif event.status == Event.Status.POSTPONED:
        entry.add("status", "TENTATIVE")
    else:
        entry.add("status", "CONFIRMED")
    calendar.add_component(entry)
    return calendar.to_ical()
