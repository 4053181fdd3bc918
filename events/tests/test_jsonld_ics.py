"""An event page's schema.org JSON-LD and its .ics download, read back by a parser."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from events.models import Event, TicketType
from events.services import event_update
from events.tests.factories import (
    ArtistFactory,
    EventFactory,
    LineupFactory,
    OrganizerMemberFactory,
    TicketTypeFactory,
    VenueFactory,
)
from grasshopper.tests.pagecheck import parse, script_nonce

pytestmark = pytest.mark.django_db

STARTS = datetime(2031, 7, 4, 20, 30, tzinfo=UTC)  # 21:30 in Lisbon (UTC+1 in summer)


def _event(**kwargs) -> Event:
    venue = VenueFactory(
        name="Hot Clube", address="Praça da Alegria 48", postal_code="1250-004", city="Lisbon", country="PT"
    )
    defaults = {
        "title": "Summer Jazz Night",
        "slug": "summer-jazz-night",
        "venue": venue,
        "starts_at": STARTS,
        "ends_at": STARTS + timedelta(hours=3),
        "doors_at": STARTS - timedelta(hours=1),
        "organizer__name": "Hot Clube Produções",
        "description": "Two sets of hard bop.",
    }
    event = EventFactory(**(defaults | kwargs))
    LineupFactory(event=event, artist=ArtistFactory(name="Maria Band", slug="maria-band"), is_headliner=True)
    return event


def _jsonld(client: Client, event: Event) -> tuple[dict, str, str]:
    response = client.get(reverse("events:detail", kwargs={"slug": event.slug}))
    assert response.status_code == 200
    (script,) = [
        s for s in parse(response.content).find_all("script") if s.attrs.get("type") == "application/ld+json"
    ]
    body = response.content.decode()
    raw = body[
        body.index(">", body.index('type="application/ld+json"')) + 1 : body.index(
            "</script>", body.index('type="application/ld+json"')
        )
    ]
    return json.loads(raw), script.attrs.get("nonce", ""), script_nonce(response)


def test_event_page_has_schema_org_event_json_ld(client: Client) -> None:
    event = _event()
    TicketTypeFactory(event=event, name="Standard", price=Decimal("25.00"), fee=Decimal("2.50"))
    sold_out = TicketTypeFactory(
        event=event, name="Early bird", price=Decimal("15.00"), fee=Decimal("1.50"), capacity=5
    )
    TicketType.objects.filter(pk=sold_out.pk).update(sold=5)
    TicketTypeFactory(event=event, name="Late", sales_start=datetime(2031, 7, 1, 9, 0, tzinfo=UTC))

    data, nonce, header_nonce = _jsonld(client, event)

    assert nonce == header_nonce  # the CSP governs <script> elements, data or not
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "MusicEvent"  # schema.org's Event for concerts
    assert data["name"] == "Summer Jazz Night"
    assert data["url"] == "http://testserver/events/summer-jazz-night/"
    assert data["startDate"] == "2031-07-04T21:30:00+01:00"
    assert data["endDate"] == "2031-07-05T00:30:00+01:00"
    assert data["doorTime"] == "2031-07-04T20:30:00+01:00"
    assert data["eventStatus"] == "https://schema.org/EventScheduled"
    assert data["eventAttendanceMode"] == "https://schema.org/OfflineEventAttendanceMode"
    assert data["location"]["@type"] == "Place"
    assert data["location"]["name"] == "Hot Clube"
    assert data["location"]["address"] == {
        "@type": "PostalAddress",
        "streetAddress": "Praça da Alegria 48",
        "addressLocality": "Lisbon",
        "postalCode": "1250-004",
        "addressCountry": "PT",
    }
    assert data["location"]["geo"]["@type"] == "GeoCoordinates"
    assert data["performer"] == [
        {"@type": "MusicGroup", "name": "Maria Band", "url": "http://testserver/artists/maria-band/"}
    ]
    assert data["organizer"] == {"@type": "Organization", "name": "Hot Clube Produções"}
    assert "image" not in data  # no image, no key (never null)
    offers = {offer["name"]: offer for offer in data["offers"]}
    assert offers["Standard"]["@type"] == "Offer"
    assert offers["Standard"]["price"] == "27.50"  # all-in
    assert offers["Standard"]["priceCurrency"] == "EUR"
    assert offers["Standard"]["availability"] == "https://schema.org/InStock"
    assert offers["Early bird"]["availability"] == "https://schema.org/SoldOut"
    assert offers["Late"]["availability"] == "https://schema.org/PreOrder"
    assert offers["Late"]["validFrom"] == "2031-07-01T10:00:00+01:00"
    assert offers["Standard"]["validFrom"]  # from publication when sales have no start


def test_json_ld_of_a_cancelled_event_and_values_that_look_like_markup(client: Client) -> None:
    event = _event(status=Event.Status.CANCELLED, title="</script><script>alert(1)</script> & more")

    response = client.get(reverse("events:detail", kwargs={"slug": event.slug}))
    data, _, _ = _jsonld(client, event)

    assert "</script><script>alert(1)" not in response.content.decode()
    assert data["name"] == "</script><script>alert(1)</script> & more"
    assert data["eventStatus"] == "https://schema.org/EventCancelled"


def test_ics_download_parses_back_with_utc_times(client: Client) -> None:
    event = _event()

    response = client.get(reverse("events:calendar", kwargs={"slug": event.slug}))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="summer-jazz-night.ics"'
    calendar = Calendar.from_ical(response.content)
    (entry,) = calendar.walk("VEVENT")
    assert entry.decoded("dtstart") == STARTS
    assert entry.decoded("dtstart").utcoffset() == timedelta(0)
    assert "DTSTART:20310704T203000Z" in response.content.decode()
    assert entry.decoded("dtend") == STARTS + timedelta(hours=3)
    assert str(entry["summary"]) == "Summer Jazz Night"
    assert str(entry["location"]) == "Hot Clube, Praça da Alegria 48, 1250-004 Lisbon, PT"
    assert str(entry["url"]) == "http://testserver/events/summer-jazz-night/"
    assert "Two sets of hard bop." in str(entry["description"])
    assert str(entry["status"]) == "CONFIRMED"
    assert entry.decoded("sequence") == 0
    # The UID does not change between downloads or after an edit, and a new time raises the SEQUENCE: a
    # calendar that imports the file again replaces its entry (RFC 5545) instead of adding one.
    uid = str(entry["uid"])
    event_update(
        actor=OrganizerMemberFactory(organizer=event.organizer).user,
        event=event,
        changes={
            "title": "Renamed",
            "starts_at": STARTS + timedelta(days=1),
            "ends_at": None,
            "doors_at": None,
        },
    )
    again = Calendar.from_ical(client.get(reverse("events:calendar", kwargs={"slug": event.slug})).content)
    (entry_again,) = again.walk("VEVENT")
    assert str(entry_again["uid"]) == uid
    assert entry_again.decoded("dtstart") == STARTS + timedelta(days=1)
    assert entry_again.decoded("sequence") == 1


def test_ics_of_a_cancelled_event_says_so_and_of_a_draft_is_404(client: Client) -> None:
    cancelled = _event(status=Event.Status.CANCELLED, ends_at=None)
    draft = EventFactory(status=Event.Status.DRAFT)

    entry = Calendar.from_ical(client.get(f"/events/{cancelled.slug}/calendar.ics").content).walk("VEVENT")[0]

    assert str(entry["status"]) == "CANCELLED"
    assert "dtend" not in entry  # unknown end: none rather than a made-up one
    assert client.get(f"/events/{draft.slug}/calendar.ics").status_code == 404
