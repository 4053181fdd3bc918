"""schema.org Event JSON-LD for an event page (what search engines read for rich results).

Built from the same data the page shows: ``events.pages.EventPage`` (the selector's event with its venue,
organizer, lineup and the ticket types' states now).
"""

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from events.models import Event, Lineup
from events.pages import EventPage, TicketRow

SCHEMA = "https://schema.org/"
# Characters that could end the script element or start markup, as JSON escapes (like json_script).
_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}
_EVENT_STATUS = {
    Event.Status.PUBLISHED: "EventScheduled",
    Event.Status.CANCELLED: "EventCancelled",
    Event.Status.POSTPONED: "EventPostponed",
    Event.Status.DRAFT: "EventScheduled",  # drafts are only seen by their organizer
}
# TicketState.code -> schema.org ItemAvailability.
_AVAILABILITY = {
    "on_sale": "InStock",
    "few_left": "LimitedAvailability",
    "almost_sold_out": "LimitedAvailability",
    "sold_out": "SoldOut",
    "presale": "PreSale",  # members may buy; everyone from the public sales start
    "not_yet": "PreOrder",
    "ended": "Discontinued",
    "unavailable": "Discontinued",
}


def _local_iso(moment: datetime, zone: str) -> str:
    """ISO 8601 with the event's UTC offset, e.g. 2026-06-13T21:00:00+01:00."""
    return timezone.localtime(moment, ZoneInfo(zone)).isoformat()


def event_jsonld(*, page: EventPage, absolute_url: Callable[[str], str]) -> dict[str, Any]:
    """The schema.org ``Event`` (a MusicEvent) of an event page. ``absolute_url`` turns a path into an
    absolute URL (``request.build_absolute_uri``)."""
    data = event_jsonld_without_offers(event=page.event, lineup=page.lineup, absolute_url=absolute_url)
    return event_jsonld_with_offers(data, event=page.event, tickets=page.tickets)


def event_jsonld_without_offers(
    *, event: Event, lineup: Sequence[Lineup], absolute_url: Callable[[str], str]
) -> dict[str, Any]:
    """Everything but the offers: what does not change when seats sell (the event page caches it with
    the rest of the catalogue part, and adds the offers, cached for seconds only)."""
    url = absolute_url(reverse("events:detail", kwargs={"slug": event.slug}))
    image_url = absolute_url(event.image.url) if event.image else None
    venue = event.venue
    place: dict[str, Any] = {
        "@type": "Place",
        "name": venue.name,
        "address": {
            "@type": "PostalAddress",
            "streetAddress": venue.address,
            "addressLocality": venue.city,
            "postalCode": venue.postal_code or None,
            "addressCountry": venue.country,
        },
    }
    if venue.latitude is not None and venue.longitude is not None:
        place["geo"] = {
            "@type": "GeoCoordinates",
            "latitude": float(venue.latitude),
            "longitude": float(venue.longitude),
        }
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "MusicEvent",
        "name": event.title,
        "description": event.description or None,
        "url": url,
        "startDate": _local_iso(event.starts_at, event.timezone),
        "endDate": _local_iso(event.ends_at, event.timezone) if event.ends_at else None,
        "doorTime": _local_iso(event.doors_at, event.timezone) if event.doors_at else None,
        "eventStatus": SCHEMA + _EVENT_STATUS[Event.Status(event.status)],
        "eventAttendanceMode": SCHEMA + "OfflineEventAttendanceMode",
        "location": place,
        "image": [image_url] if image_url else None,
        "performer": [
            {
                "@type": "MusicGroup",
                "name": slot.artist.name,
                "url": absolute_url(reverse("events:artist", kwargs={"slug": slot.artist.slug})),
            }
            for slot in lineup
        ],
        "organizer": {
            "@type": "Organization",
            "name": event.organizer.name,
            "url": event.organizer.website or None,
        },
        "typicalAgeRange": f"{event.age_limit}-" if event.age_limit else None,
    }
    return _without_nulls(data)


def event_jsonld_with_offers(
    data: dict[str, Any], *, event: Event, tickets: Sequence[TicketRow]
) -> dict[str, Any]:
    """``data`` (from ``event_jsonld_without_offers``) with an ``Offer`` per ticket type, in its state now.
    Reads ``timezone`` and ``created`` of ``event`` only."""
    offers = [
        {
            "@type": "Offer",
            "name": row.ticket_type.name,
            "price": str(row.ticket_type.all_in_price),
            "priceCurrency": row.ticket_type.currency,
            "availability": SCHEMA + _AVAILABILITY.get(row.state.code, "Discontinued"),
            "validFrom": _local_iso(row.ticket_type.sales_start or event.created, event.timezone),
            "url": data["url"],
        }
        for row in tickets
    ]
    return {**data, "offers": offers}


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def jsonld_dumps(data: dict[str, Any]) -> SafeString:
    """JSON for a ``<script type="application/ld+json">``: <, > and & escaped, so that no value can
    close the script element (as Django's json_script does)."""
    return mark_safe(json.dumps(data, ensure_ascii=False).translate(_SCRIPT_ESCAPES))  # noqa: S308 # nosec B308 B703
