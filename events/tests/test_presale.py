"""The members' presale in the catalogue: a ticket type with a ``member_presale_start`` is for members only
from then until its public ``sales_start``.

- The API answers per caller: a member sees it buyable, anyone else the state ``presale`` with the public
  start (``events.selectors.ticket_type_states_for_user``, which asks the one presale rule).
- Event cards (lists, home page) say "Members' presale — public sale from …" to everybody, from their
  cached footers: a member's list shows the same words (members buy on the event page).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Membership, User
from accounts.tests.factories import VerifiedUserFactory
from accounts.tests.helpers import api_client as _api
from events.cache import AVAILABILITY_TTL
from events.models import TicketType
from events.selectors import (
    event_card_state,
    event_card_states,
    member_presale_admits,
    ticket_type_in_member_presale,
    ticket_type_state,
)
from events.tests.factories import EventFactory, TicketTypeFactory
from grasshopper.tests.pagecheck import parse

pytestmark = pytest.mark.django_db

NOW = datetime(2031, 6, 11, 9, 0, tzinfo=UTC)  # 10:00 in Lisbon (the factories' time zone)
PUBLIC = NOW + timedelta(days=2)  # Fri 13 Jun, 10:00 in Lisbon
PRESALE = NOW - timedelta(hours=1)


@pytest.fixture(autouse=True)
def clock(settings: Any) -> Any:
    """Time pinned at NOW; ``clock.move_to(...)`` moves it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _member(*, status: str = Membership.Status.ACTIVE) -> User:
    user = VerifiedUserFactory()
    Membership.objects.create(
        user=user,
        status=status,
        stripe_subscription_id=f"sub_{user.pk}",
        current_period_end=NOW + timedelta(days=20),
    )
    return user


def _presale(**fields: Any) -> TicketType:
    fields.setdefault("member_presale_start", PRESALE)
    event = EventFactory(starts_at=NOW + timedelta(days=20), ends_at=None, doors_at=None)
    return TicketTypeFactory(event=event, name="Presale standing", sales_start=PUBLIC, **fields)


def _ticket(client: APIClient, tt: TicketType) -> dict[str, Any]:
    response = client.get(f"/api/v1/events/{tt.event.slug}/")
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "private, max-age=5"  # per caller: never shared
    [ticket] = [t for t in response.json()["ticket_types"] if t["id"] == tt.pk]
    return ticket


# --- the rule ---------------------------------------------------------------------------------------------


def test_the_presale_window_runs_from_the_members_start_to_the_public_start() -> None:
    tt = _presale()
    member = _member()
    assert not ticket_type_in_member_presale(ticket_type=tt, now=PRESALE - timedelta(seconds=1))
    assert ticket_type_in_member_presale(ticket_type=tt, now=PRESALE)
    assert ticket_type_in_member_presale(ticket_type=tt, now=PUBLIC - timedelta(seconds=1))
    assert not ticket_type_in_member_presale(ticket_type=tt, now=PUBLIC)
    assert member_presale_admits(ticket_type=tt, user=member, now=NOW)
    assert not member_presale_admits(ticket_type=tt, user=VerifiedUserFactory(), now=NOW)
    assert not member_presale_admits(ticket_type=tt, user=None, now=NOW)
    assert not member_presale_admits(ticket_type=tt, user=_member(status=Membership.Status.PAST_DUE), now=NOW)
    assert not member_presale_admits(ticket_type=tt, user=member, now=PRESALE - timedelta(minutes=1))


def test_ticket_states_in_the_presale_for_members_and_everyone_else() -> None:
    tt = _presale()
    everyone = ticket_type_state(ticket_type=tt, event=tt.event)
    assert (everyone.code, everyone.can_buy) == ("presale", False)
    assert everyone.label == "Members' presale — opens to everyone on Fri 13 Jun, 10:00"
    member = ticket_type_state(ticket_type=tt, event=tt.event, member=True)
    assert (member.code, member.label, member.available, member.can_buy) == (
        "on_sale",
        "On sale (members' presale)",
        100,
        True,
    )
    # Before the presale, membership changes nothing.
    early = _presale(member_presale_start=NOW + timedelta(hours=1))
    assert ticket_type_state(ticket_type=early, event=early.event, member=True).code == "not_yet"


# --- the API, per caller ----------------------------------------------------------------------------------


def test_the_api_shows_presale_tickets_buyable_to_members_only() -> None:
    tt = _presale()

    anonymous = _ticket(_api(), tt)
    assert anonymous["state"] == {
        "code": "presale",
        "label": "Members' presale — opens to everyone on Fri 13 Jun, 10:00",
    }
    assert (anonymous["can_buy"], anonymous["available"]) == (False, 100)
    assert anonymous["sales_start"] == "2031-06-13T09:00:00Z"
    assert anonymous["member_presale_start"] == "2031-06-11T08:00:00Z"

    not_a_member = _ticket(_api(VerifiedUserFactory()), tt)
    assert (not_a_member["state"]["code"], not_a_member["can_buy"]) == ("presale", False)
    lapsed = _ticket(_api(_member(status=Membership.Status.CANCELED)), tt)
    assert (lapsed["state"]["code"], lapsed["can_buy"]) == ("presale", False)

    member = _ticket(_api(_member()), tt)
    assert member["state"] == {"code": "on_sale", "label": "On sale (members' presale)"}
    assert member["can_buy"] is True


def test_the_api_presale_state_ends_when_public_sales_start(clock: Any) -> None:
    tt = _presale()
    clock.move_to(PUBLIC)
    ticket = _ticket(_api(), tt)
    assert (ticket["state"]["code"], ticket["can_buy"]) == ("on_sale", True)


def test_the_api_reads_the_membership_only_during_a_presale() -> None:
    plain = TicketTypeFactory()
    presale = _presale()
    client = _api(_member())
    client.get(f"/api/v1/events/{plain.event.slug}/")  # the session is read once and cached
    with CaptureQueriesContext(connection) as outside:
        client.get(f"/api/v1/events/{plain.event.slug}/")
    with CaptureQueriesContext(connection) as inside:
        client.get(f"/api/v1/events/{presale.event.slug}/")
    assert len([q for q in inside.captured_queries if "accounts_membership" in q["sql"]]) == 1
    assert not [q for q in outside.captured_queries if "accounts_membership" in q["sql"]]


def test_the_api_list_says_presale_on_the_card() -> None:
    tt = _presale()
    response = _api(_member()).get("/api/v1/events/")
    [item] = [e for e in response.json()["results"] if e["slug"] == tt.event.slug]
    assert item["tickets"] == {
        "code": "presale",
        "label": "Members' presale — public sale from 13 Jun, 10:00",
    }


def test_the_schema_documents_the_presale_state_and_start(client: Client) -> None:
    schema = json.loads(client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    components = schema["components"]["schemas"]
    code = components["TicketStateOutput"]["properties"]["code"]
    [ref] = [part["$ref"] for part in code.get("allOf", [code]) if "$ref" in part]
    assert "presale" in components[ref.rpartition("/")[2]]["enum"]
    assert "`presale`" in code["description"]
    ticket_type = components["TicketTypeOutput"]["properties"]
    assert ticket_type["member_presale_start"]["nullable"] is True
    assert "member" in ticket_type["can_buy"]["description"]


# --- cards: the same honest words for everyone, from the cached footers ----------------------------------


def _card_badges(response: Any) -> list[str]:
    return [
        span.text
        for span in parse(response.content).find_all("span")
        if "badge" in span.attrs.get("class", "").split()
    ]


def test_a_card_in_the_presale_names_it_and_the_public_start() -> None:
    tt = _presale()
    TicketTypeFactory(event=tt.event, name="Later", sales_start=PUBLIC + timedelta(days=1))
    [event] = event_card_states(event_ids=[tt.event.pk]).values()
    state = event_card_state(event=event)
    assert (state.code, state.label, state.can_buy) == (
        "presale",
        "Members' presale — public sale from 13 Jun, 10:00",
        False,
    )

    # Before the presale: the public start, as before; sold out in the presale: sold out.
    early = _presale(member_presale_start=NOW + timedelta(hours=1))
    [event] = event_card_states(event_ids=[early.event.pk]).values()
    assert event_card_state(event=event).label == "Sales start 13 Jun"
    gone = _presale()
    TicketType.objects.filter(pk=gone.pk).update(sold=gone.capacity)
    [event] = event_card_states(event_ids=[gone.event.pk]).values()
    assert event_card_state(event=event).code == "sold_out"


def test_the_cached_list_and_the_home_page_say_presale_to_visitors_and_members(
    clock: Any, settings: Any
) -> None:
    # Local memory: its entries expire by the (travelling) clock.
    settings.CACHES = {  # its own LOCATION: local-memory caches with one name share their entries
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "events-test-presale",
        }
    }
    tt = _presale(member_presale_start=NOW + timedelta(minutes=30))
    tt.event.is_featured = True  # on the home page too
    tt.event.save(update_fields=["is_featured"])
    visitor = Client()
    assert _card_badges(visitor.get("/events/")) == ["Sales start 13 Jun"]

    clock.move_to(NOW + timedelta(minutes=30) + timedelta(seconds=AVAILABILITY_TTL))
    words = "Members' presale — public sale from 13 Jun, 10:00"
    assert _card_badges(visitor.get("/events/")) == [words]  # the footers are read again
    assert _card_badges(Client().get("/events/")) == [words]  # ...and served from the cache
    signed_in = Client()
    signed_in.force_login(_member())
    assert _card_badges(signed_in.get("/events/")) == [words]  # a member's uncached list says the same
    assert words in _card_badges(visitor.get("/"))
