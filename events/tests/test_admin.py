"""The catalogue admin: organizer isolation, read-only counters, change history, query counts, CSP.

Organizer staff are made the way production makes them (``organizer_member_grant_staff``: ``is_staff`` and
the "Organizer staff" group); superusers see everything. Forms are posted as a browser would post them:
the rendered form's own fields and values, with the test's changes on top.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import PASSWORD, SuperuserFactory, VerifiedUserFactory
from events.models import Event, OrganizerMember, TicketType
from events.services_admin import (
    ORGANIZER_STAFF_GROUP,
    organizer_member_grant_staff,
    organizer_staff_access_sync,
    ticket_type_save_details,
)
from events.tests.factories import (
    ArtistFactory,
    EventFactory,
    GenreFactory,
    LineupFactory,
    OrganizerFactory,
    OrganizerMemberFactory,
    TicketTypeFactory,
    VenueFactory,
)
from grasshopper.tests.pagecheck import Element, csp_directives, parse

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer

    from events.models import Organizer

pytestmark = pytest.mark.django_db

SHOTS = Path(os.environ.get("ADMIN_SHOTS_DIR", "/tmp/shots"))  # noqa: S108 # screenshots for people


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    """Argon2 at production cost makes every account ~0.3 s; these tests are about the admin."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- helpers ----------------------------------------------------------------------------------------------


def staff_member(organizer: Organizer, role: str = OrganizerMember.Role.MANAGER, **user: Any) -> User:
    """A verified account that works for ``organizer``, with the admin access a membership grants."""
    member = OrganizerMemberFactory(organizer=organizer, role=role, user=VerifiedUserFactory(**user))
    organizer_member_grant_staff(member=member, actor=None)
    return member.user


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_data(response: Any, form_id: str) -> dict[str, Any]:
    """What a browser would submit from the rendered form ``form_id``, unchanged."""
    form = parse(response.content).find("form", {"id": form_id})
    data: dict[str, list[str]] = {}
    for el in form.iter()[1:]:
        name = el.attrs.get("name")
        if not name or "disabled" in el.attrs:
            continue
        if el.tag == "input":
            kind = el.attrs.get("type", "text")
            if kind in {"submit", "button", "file", "image", "reset"}:
                continue
            if kind in {"checkbox", "radio"} and "checked" not in el.attrs:
                continue
            default = "on" if kind in {"checkbox", "radio"} else ""
            data.setdefault(name, []).append(el.attrs.get("value", default))
        elif el.tag == "select":
            data[name] = _selected(el)
        elif el.tag == "textarea":
            data[name] = [el.text]
    return data


def _selected(select: Element) -> list[str]:
    options = select.find_all("option")
    chosen = [o.attrs.get("value", o.text) for o in options if "selected" in o.attrs]
    if not chosen and "multiple" not in select.attrs and options:
        chosen = [options[0].attrs.get("value", options[0].text)]
    return chosen


def change_url(obj: Any) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def changelist_ids(response: Any) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


# --- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture
def org_a() -> Organizer:
    return OrganizerFactory(name="Alpha Live")


@pytest.fixture
def org_b() -> Organizer:
    return OrganizerFactory(name="Bravo Shows")


@pytest.fixture
def manager_a(org_a: Organizer) -> User:
    return staff_member(org_a, email="manager@alpha.example")


@pytest.fixture
def event_a(org_a: Organizer) -> Event:
    return EventFactory(organizer=org_a, venue=VenueFactory(organizer=org_a), title="Alpha Night")


@pytest.fixture
def event_b(org_b: Organizer) -> Event:
    return EventFactory(organizer=org_b, venue=VenueFactory(organizer=org_b), title="Bravo Night")


# --- who sees what ----------------------------------------------------------------------------------------


def test_superuser_sees_every_event(event_a: Event, event_b: Event) -> None:
    response = client_for(SuperuserFactory()).get(reverse("admin:events_event_changelist"))

    assert response.status_code == 200
    assert changelist_ids(response) == {event_a.pk, event_b.pk}


def test_manager_sees_only_their_organizers_events(manager_a: User, event_a: Event, event_b: Event) -> None:
    response = client_for(manager_a).get(reverse("admin:events_event_changelist"))

    assert response.status_code == 200
    assert changelist_ids(response) == {event_a.pk}
    assert "Bravo Night" not in response.content.decode()


def test_search_finds_events_by_artist_once(manager_a: User, event_a: Event, event_b: Event) -> None:
    LineupFactory(event=event_a, artist=ArtistFactory(name="Moon Duo"))
    LineupFactory(event=event_a, artist=ArtistFactory(name="Moonspell"))
    LineupFactory(event=event_b, artist=ArtistFactory(name="Moon Safari"))

    response = client_for(manager_a).get(reverse("admin:events_event_changelist"), {"q": "moon"})

    assert [e.pk for e in response.context["cl"].result_list] == [event_a.pk]


def test_list_filters_do_not_leak_other_organizers(manager_a: User, event_a: Event, event_b: Event) -> None:
    event_b.venue.city = "Porto"
    event_b.venue.save()

    response = client_for(manager_a).get(reverse("admin:events_event_changelist"))

    content = response.content.decode()
    assert "Bravo Shows" not in content  # no organizer filter for organizer staff
    assert "Porto" not in content  # cities of the user's events only


@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_manager_cannot_open_another_organizers_event(manager_a: User, event_b: Event, view: str) -> None:
    url = reverse(f"admin:events_event_{view}", args=[event_b.pk])

    response = client_for(manager_a).get(url)

    assert response.status_code != 200
    assert "Bravo Night" not in response.content.decode()


def test_manager_cannot_open_a_past_version_of_another_organizers_event(
    manager_a: User, event_b: Event
) -> None:
    version = event_b.history.latest()
    url = reverse("admin:events_event_simple_history", args=[event_b.pk, version.history_id])

    assert client_for(manager_a).get(url).status_code == 404
    assert client_for(manager_a).post(url, {"title": "Hijacked"}).status_code == 404
    event_b.refresh_from_db()
    assert event_b.title == "Bravo Night"


def test_organizer_staff_read_the_history_but_do_not_revert(manager_a: User, event_a: Event) -> None:
    Event.objects.filter(pk=event_a.pk).update(status=Event.Status.CANCELLED)
    published = event_a.history.latest()  # the version before the cancellation (an UPDATE writes none)
    url = reverse("admin:events_event_simple_history", args=[event_a.pk, published.history_id])
    client = client_for(manager_a)

    page = client.get(url)
    reverted = client.post(url, form_data(client.get(change_url(event_a)), "event_form"))

    assert page.status_code == 200
    assert page.context["revert_disabled"] is True
    assert reverted.status_code == 403
    event_a.refresh_from_db()
    assert event_a.status == Event.Status.CANCELLED


def test_past_versions_open_for_read_only_viewers(manager_a: User) -> None:
    artist = ArtistFactory()  # organizer staff see artists, only superusers change them
    version = artist.history.latest()
    url = reverse("admin:events_artist_simple_history", args=[artist.pk, version.history_id])

    assert client_for(manager_a).get(url).status_code == 200


def test_manager_cannot_post_changes_to_another_organizers_event(
    manager_a: User, event_a: Event, event_b: Event
) -> None:
    # A valid form, taken from the manager's own event, pointed at B's.
    client = client_for(manager_a)
    data = form_data(client.get(change_url(event_a)), "event_form")
    data["title"] = "Hijacked"

    response = client.post(change_url(event_b), data)

    assert response.status_code != 200
    event_b.refresh_from_db()
    assert event_b.title == "Bravo Night"


def test_event_form_offers_only_the_managers_organizers_and_usable_venues(
    manager_a: User, org_a: Organizer, event_a: Event, event_b: Event
) -> None:
    shared = VenueFactory(organizer=None, name="Coliseu")
    response = client_for(manager_a).get(reverse("admin:events_event_add"))

    form = response.context["adminform"].form
    assert list(form.fields["organizer"].queryset) == [org_a]
    assert set(form.fields["venue"].queryset) == {event_a.venue, shared}
    assert form.initial["organizer"] == org_a.pk  # their only organizer, chosen already


def test_manager_cannot_put_their_event_at_another_organizers_venue(
    manager_a: User, event_a: Event, event_b: Event
) -> None:
    client = client_for(manager_a)
    data = form_data(client.get(change_url(event_a)), "event_form")

    response = client.post(change_url(event_a), {**data, "venue": str(event_b.venue_id)})

    assert response.status_code == 200  # the form again, with an error
    assert "venue" in response.context["adminform"].form.errors
    event_a.refresh_from_db()
    assert event_a.venue_id != event_b.venue_id


def test_organizer_and_slug_stay_once_the_event_exists(
    manager_a: User, org_a: Organizer, org_b: Organizer, event_a: Event
) -> None:
    slug = event_a.slug
    client = client_for(manager_a)
    page = client.get(change_url(event_a))
    data = form_data(page, "event_form")

    response = client.post(change_url(event_a), {**data, "organizer": str(org_b.pk), "slug": "moved"})

    assert {"organizer", "slug"}.isdisjoint(page.context["adminform"].form.fields)
    assert response.status_code == 302
    event_a.refresh_from_db()
    assert (event_a.organizer_id, event_a.slug) == (org_a.pk, slug)


def test_manager_cannot_create_an_event_for_another_organizer(
    manager_a: User, event_a: Event, org_b: Organizer
) -> None:
    client = client_for(manager_a)
    data = form_data(client.get(reverse("admin:events_event_add")), "event_form")
    data.update(
        {
            "organizer": str(org_b.pk),
            "title": "Sneaky",
            "slug": "sneaky",
            "venue": str(event_a.venue_id),
            "starts_at_0": "2030-05-01",
            "starts_at_1": "20:00:00",
        }
    )

    response = client.post(reverse("admin:events_event_add"), data)

    assert response.status_code == 200
    assert "organizer" in response.context["adminform"].form.errors
    assert not Event.objects.filter(slug="sneaky").exists()


def test_a_member_of_two_organizers_keeps_each_events_venue_with_its_organizer(
    manager_a: User, event_a: Event
) -> None:
    other = OrganizerFactory(name="Alpha Festivals")
    OrganizerMember.objects.create(organizer=other, user=manager_a, role=OrganizerMember.Role.MANAGER)
    festival_ground = VenueFactory(organizer=other)
    client = client_for(manager_a)
    data = form_data(client.get(change_url(event_a)), "event_form")

    response = client.post(change_url(event_a), {**data, "venue": str(festival_ground.pk)})

    assert "belongs to another organizer" in str(response.context["adminform"].form.errors["venue"])


def test_status_moves_only_where_the_event_may_go(manager_a: User, event_a: Event) -> None:
    client = client_for(manager_a)
    page = client.get(change_url(event_a))
    data = form_data(page, "event_form")

    offered = [value for value, _ in page.context["adminform"].form.fields["status"].choices]
    back_to_draft = client.post(change_url(event_a), {**data, "status": "draft"})
    cancelled = client.post(change_url(event_a), {**data, "status": "cancelled"})

    assert offered == ["published", "cancelled", "postponed"]
    assert back_to_draft.status_code == 200
    assert "status" in back_to_draft.context["adminform"].form.errors
    assert cancelled.status_code == 302
    event_a.refresh_from_db()
    assert event_a.status == Event.Status.CANCELLED


def test_manager_edits_their_event_and_the_history_names_them(manager_a: User, event_a: Event) -> None:
    client = client_for(manager_a)
    data = form_data(client.get(change_url(event_a)), "event_form")
    data["title"] = "Alpha Night (second show)"

    response = client.post(change_url(event_a), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    event_a.refresh_from_db()
    assert event_a.title == "Alpha Night (second show)"
    latest = event_a.history.latest()
    assert latest.history_user == manager_a
    assert latest.history_type == "~"

    history = client.get(reverse("admin:events_event_history", args=[event_a.pk]))
    assert history.status_code == 200
    assert "manager@alpha.example" in history.content.decode()


def test_manager_adds_an_event_with_a_lineup_and_tickets(
    manager_a: User, org_a: Organizer, event_a: Event
) -> None:
    artist = ArtistFactory(name="Moon Duo")
    client = client_for(manager_a)
    data = form_data(client.get(reverse("admin:events_event_add")), "event_form")
    data.update(
        {
            "title": "Moon Night",
            "slug": "moon-night",
            "venue": str(event_a.venue_id),
            "starts_at_0": "2030-05-01",
            "starts_at_1": "20:00:00",
            "timezone": "Europe/Lisbon",
            "status": "draft",
            "lineup-TOTAL_FORMS": "1",
            "lineup-0-position": "1",
            "lineup-0-artist": str(artist.pk),
            "lineup-0-is_headliner": "on",
            "ticket_types-TOTAL_FORMS": "1",
            "ticket_types-0-name": "Standing",
            "ticket_types-0-price": "20.00",
            "ticket_types-0-fee": "2.00",
            "ticket_types-0-currency": "EUR",
            "ticket_types-0-capacity": "300",
            "ticket_types-0-max_per_order": "6",
            "ticket_types-0-position": "0",
            "ticket_types-0-is_visible": "on",
            "ticket_types-0-sold": "250",  # not a field: ignored
        }
    )

    response = client.post(reverse("admin:events_event_add"), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    event = Event.objects.get(slug="moon-night")
    assert event.organizer == org_a
    assert [slot.artist for slot in event.lineup.all()] == [artist]
    ticket_type = event.ticket_types.get()
    assert (ticket_type.capacity, ticket_type.sold, ticket_type.held) == (300, 0, 0)
    assert ticket_type.history.latest().history_user == manager_a


def test_box_office_member_sees_events_read_only(org_a: Organizer, event_a: Event) -> None:
    box_office = staff_member(org_a, role=OrganizerMember.Role.BOX_OFFICE)
    client = client_for(box_office)

    listing = client.get(reverse("admin:events_event_changelist"))
    page = client.get(change_url(event_a))
    posted = client.post(change_url(event_a), {"title": "Renamed by the box office"})

    assert changelist_ids(listing) == {event_a.pk}
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert "title" not in page.context["adminform"].form.fields
    assert client.get(reverse("admin:events_event_add")).status_code == 403
    assert posted.status_code == 403
    event_a.refresh_from_db()
    assert event_a.title == "Alpha Night"


# --- ticket types: the counters -------------------------------------------------------------------------


def test_sold_and_held_are_shown_but_not_editable(manager_a: User, event_a: Event) -> None:
    ticket_type = TicketTypeFactory(event=event_a, capacity=100)
    TicketType.objects.filter(pk=ticket_type.pk).update(sold=40, held=5)
    client = client_for(manager_a)
    page = client.get(change_url(event_a))
    data = form_data(page, "event_form")
    data.update({"ticket_types-0-sold": "0", "ticket_types-0-held": "0", "ticket_types-0-capacity": "120"})

    response = client.post(change_url(event_a), data)

    assert "sold" not in page.context["inline_admin_formsets"][1].formset.forms[0].fields
    assert "40" in page.content.decode()
    assert response.status_code == 302, response.context and response.context["errors"]
    ticket_type.refresh_from_db()
    assert (ticket_type.capacity, ticket_type.sold, ticket_type.held) == (120, 40, 5)


def test_saving_ticket_type_details_keeps_a_sale_made_meanwhile(event_a: Event) -> None:
    ticket_type = TicketTypeFactory(event=event_a, capacity=100)
    loaded = TicketType.objects.get(pk=ticket_type.pk)  # the admin's copy: sold=0
    TicketType.objects.filter(pk=ticket_type.pk).update(sold=F("sold") + 3)  # a checkout, meanwhile
    loaded.name = "Early bird"

    ticket_type_save_details(ticket_type=loaded, actor=None)

    ticket_type.refresh_from_db()
    assert (ticket_type.name, ticket_type.sold) == ("Early bird", 3)


def test_capacity_cannot_go_below_sold_and_held(manager_a: User, event_a: Event) -> None:
    ticket_type = TicketTypeFactory(event=event_a, capacity=100)
    TicketType.objects.filter(pk=ticket_type.pk).update(sold=40, held=5)
    client = client_for(manager_a)
    data = form_data(client.get(change_url(event_a)), "event_form")
    data["ticket_types-0-capacity"] = "44"

    response = client.post(change_url(event_a), data)

    assert response.status_code == 200
    assert "capacity cannot be below 45" in response.content.decode()
    ticket_type.refresh_from_db()
    assert ticket_type.capacity == 100


def test_a_ticket_type_with_sales_cannot_be_deleted(manager_a: User, event_a: Event) -> None:
    sold_some = TicketTypeFactory(event=event_a, name="Sold some", position=0)
    unsold = TicketTypeFactory(event=event_a, name="Unsold", position=1)
    TicketType.objects.filter(pk=sold_some.pk).update(sold=1)
    client = client_for(manager_a)
    data = form_data(client.get(change_url(event_a)), "event_form")

    refused = client.post(change_url(event_a), {**data, "ticket_types-0-DELETE": "on"})
    accepted = client.post(change_url(event_a), {**data, "ticket_types-1-DELETE": "on"})

    assert refused.status_code == 200
    assert "cannot be deleted" in refused.content.decode()
    assert accepted.status_code == 302
    assert list(event_a.ticket_types.all()) == [sold_some]
    assert not TicketType.objects.filter(pk=unsold.pk).exists()


def test_an_events_ticket_types_share_one_currency(manager_a: User, event_a: Event) -> None:
    TicketTypeFactory(event=event_a, currency="EUR")
    client = client_for(manager_a)
    data = form_data(client.get(change_url(event_a)), "event_form")
    data.update(
        {
            "ticket_types-TOTAL_FORMS": "2",
            "ticket_types-1-name": "VIP",
            "ticket_types-1-price": "80.00",
            "ticket_types-1-fee": "0",
            "ticket_types-1-currency": "GBP",
            "ticket_types-1-capacity": "50",
            "ticket_types-1-max_per_order": "2",
            "ticket_types-1-position": "1",
        }
    )

    response = client.post(change_url(event_a), data)

    assert response.status_code == 200
    assert "one currency" in response.content.decode()
    assert event_a.ticket_types.count() == 1


# --- venues and organizers --------------------------------------------------------------------------------


def test_manager_sees_and_edits_only_their_venues(
    manager_a: User, org_a: Organizer, org_b: Organizer
) -> None:
    own = VenueFactory(organizer=org_a)
    theirs = VenueFactory(organizer=org_b)
    shared = VenueFactory(organizer=None)
    client = client_for(manager_a)

    listing = client.get(reverse("admin:events_venue_changelist"))
    add_form = client.get(reverse("admin:events_venue_add")).context["adminform"].form

    assert changelist_ids(listing) == {own.pk}
    assert client.get(change_url(own)).status_code == 200
    assert client.get(change_url(theirs)).status_code != 200
    assert client.get(change_url(shared)).status_code != 200
    assert list(add_form.fields["organizer"].queryset) == [org_a]
    assert add_form.fields["organizer"].required


def test_manager_cannot_move_a_venue_to_another_organizer(
    manager_a: User, org_a: Organizer, org_b: Organizer
) -> None:
    venue = VenueFactory(organizer=org_a)
    client = client_for(manager_a)
    data = form_data(client.get(change_url(venue)), "venue_form")

    response = client.post(change_url(venue), {**data, "organizer": str(org_b.pk)})
    emptied = client.post(change_url(venue), {**data, "organizer": ""})

    assert "organizer" in response.context["adminform"].form.errors
    assert "organizer" in emptied.context["adminform"].form.errors
    venue.refresh_from_db()
    assert venue.organizer == org_a


def test_organizer_staff_see_only_their_organizer(
    manager_a: User, org_a: Organizer, org_b: Organizer
) -> None:
    client = client_for(manager_a)

    listing = client.get(reverse("admin:events_organizer_changelist"))

    assert changelist_ids(listing) == {org_a.pk}
    assert client.get(change_url(org_b)).status_code != 200
    page = client.get(change_url(org_a))
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False  # managers do not edit the organizer
    assert client.get(reverse("admin:events_organizer_add")).status_code == 403


def test_owner_edits_their_organizer_but_not_its_members(org_a: Organizer) -> None:
    owner = staff_member(org_a, role=OrganizerMember.Role.OWNER)
    client = client_for(owner)
    page = client.get(change_url(org_a))

    data = form_data(page, "organizer_form")
    response = client.post(change_url(org_a), {**data, "website": "https://alpha.example"})

    assert page.context["has_change_permission"] is True
    members = page.context["inline_admin_formsets"][0]
    assert members.has_add_permission is False
    assert members.has_change_permission is False
    assert response.status_code == 302, response.context and response.context["errors"]
    org_a.refresh_from_db()
    assert org_a.website == "https://alpha.example"


def test_only_superusers_change_artists_and_genres(manager_a: User) -> None:
    artist = ArtistFactory()
    genre = GenreFactory()
    client = client_for(manager_a)

    artist_page = client.get(change_url(artist))
    genre_page = client.get(change_url(genre))

    assert artist_page.status_code == 200
    assert artist_page.context["has_change_permission"] is False
    assert genre_page.context["has_change_permission"] is False
    assert client.get(reverse("admin:events_artist_add")).status_code == 200  # for their lineups
    assert client.get(reverse("admin:events_genre_add")).status_code == 403


def test_staff_of_no_organizer_see_no_catalogue(org_a: Organizer, event_a: Event) -> None:
    former = staff_member(org_a)
    OrganizerMember.objects.filter(user=former).delete()
    former.groups.add(Group.objects.get(name=ORGANIZER_STAFF_GROUP))  # left in the group by mistake

    client = client_for(former)

    assert client.get(reverse("admin:events_event_changelist")).status_code == 403
    assert client.get(change_url(event_a)).status_code != 200


def test_artist_autocomplete_works_for_organizer_staff_but_users_stay_hidden(
    manager_a: User, event_a: Event
) -> None:
    ArtistFactory(name="Moon Duo")
    client = client_for(manager_a)
    url = reverse("admin:autocomplete")

    artists = client.get(
        url, {"app_label": "events", "model_name": "lineup", "field_name": "artist", "term": "moon"}
    )
    users = client.get(
        url, {"app_label": "events", "model_name": "organizermember", "field_name": "user", "term": "a"}
    )

    assert artists.status_code == 200
    assert [r["text"] for r in artists.json()["results"]] == ["Moon Duo"]
    assert users.status_code == 403


# --- granting access --------------------------------------------------------------------------------------


def test_granting_staff_access_sets_is_staff_and_the_group(org_a: Organizer) -> None:
    user = VerifiedUserFactory()
    member = OrganizerMember.objects.create(organizer=org_a, user=user, role=OrganizerMember.Role.MANAGER)

    organizer_member_grant_staff(member=member, actor=None)

    user.refresh_from_db()
    assert user.is_staff
    assert user.has_perm("events.change_event")
    assert not user.has_perm("events.delete_event")
    assert not user.has_perm("accounts.view_user")

    member.delete()
    organizer_staff_access_sync(user=user, actor=None)
    user = User.objects.get(pk=user.pk)
    assert not user.is_staff
    assert not user.groups.exists()


def test_superuser_adding_a_member_in_the_admin_grants_access(org_a: Organizer) -> None:
    boss = SuperuserFactory()
    newcomer = VerifiedUserFactory(email="newcomer@alpha.example")
    client = client_for(boss)
    data = form_data(client.get(change_url(org_a)), "organizer_form")
    data.update({"members-TOTAL_FORMS": "1", "members-0-user": str(newcomer.pk), "members-0-role": "manager"})

    response = client.post(change_url(org_a), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    newcomer.refresh_from_db()
    assert newcomer.is_staff
    assert newcomer.groups.filter(name=ORGANIZER_STAFF_GROUP).exists()


# --- query counts -----------------------------------------------------------------------------------------


def _catalogue(user: User, rows: int) -> None:
    """``rows`` organizers (``user`` works for each), each with a genre, venue, event, lineup, tickets."""
    for _ in range(rows):
        organizer = OrganizerFactory()
        if not user.is_superuser:
            OrganizerMember.objects.create(organizer=organizer, user=user)
        genre = GenreFactory()
        event = EventFactory(organizer=organizer, venue=VenueFactory(organizer=organizer))
        event.genres.add(genre)
        LineupFactory(event=event).artist.genres.add(genre)
        TicketTypeFactory(event=event)


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("who", ["superuser", "manager"])
@pytest.mark.parametrize("model", ["event", "venue", "organizer", "artist", "genre"])
def test_changelist_query_count_does_not_grow_with_rows(
    org_a: Organizer, who: str, model: str, django_assert_max_num_queries: Any
) -> None:
    user = SuperuserFactory() if who == "superuser" else staff_member(org_a)
    client = client_for(user)
    url = reverse(f"admin:events_{model}_changelist")
    _catalogue(user, 3)
    few = _queries(client, url)
    _catalogue(user, 27)

    with django_assert_max_num_queries(few):
        response = client.get(url)

    assert response.context["cl"].result_count >= 3


# --- CSP: relaxed for the admin only ----------------------------------------------------------------------


def test_admin_pages_get_what_unfold_needs_and_public_pages_keep_the_strict_policy(
    settings: Any, event_a: Event
) -> None:
    client = client_for(SuperuserFactory())
    admin_page = client.get(change_url(event_a))
    public_page = client.get(reverse("account_login"))

    admin_csp = csp_directives(admin_page)
    public_csp = csp_directives(public_page)
    for directive, sources in settings.ADMIN_CONTENT_SECURITY_POLICY_UPDATE.items():
        assert set(sources) <= set(admin_csp[directive])
    assert public_csp["style-src"] == ["'self'"]
    assert "'unsafe-eval'" not in public_csp["script-src"]
    header = public_page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header
    # Everything else in the admin's policy is the site's.
    assert admin_csp["default-src"] == ["'self'"]
    assert admin_csp["object-src"] == ["'none'"]
    assert admin_csp["frame-ancestors"] == ["'none'"]
    assert "*" not in admin_page.headers["Content-Security-Policy"]


def test_admin_pages_load_nothing_from_other_sites(event_a: Event) -> None:
    response = client_for(SuperuserFactory()).get(change_url(event_a))

    document = parse(response.content)
    urls = [el.attrs.get("src") or el.attrs.get("href") or "" for el in document.find_all()]
    assert [u for u in urls if u.startswith(("http:", "https:", "//"))] == []


def test_the_admin_is_titled(event_a: Event) -> None:
    response = client_for(SuperuserFactory()).get(reverse("admin:index"))

    assert "Grasshopper admin" in parse(response.content).find("title").text


# --- in the browser ---------------------------------------------------------------------------------------


def _sign_in(page: Page, live_server: LiveServer, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next=/admin/", wait_until="load")
    form = page.locator("main form")
    form.locator("input[name=login]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/admin/", wait_until="load")


def _shot(page: Page, name: str) -> None:
    """The whole page at once: a viewport as tall as the page, so sticky bars stay at the bottom."""
    width = page.viewport_size["width"] if page.viewport_size else 1280
    height = min(page.evaluate("document.documentElement.scrollHeight"), 4000)
    page.set_viewport_size({"width": width, "height": max(height, 800)})
    page.screenshot(path=str(SHOTS / f"admin-{name}.png"))
    page.set_viewport_size({"width": width, "height": 800})


def _csp_errors(console: list[str]) -> list[str]:
    return [line for line in console if "Content Security Policy" in line or line.startswith("pageerror")]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_pages_work_in_the_browser_without_csp_errors(
    live_server: LiveServer, page: Page, browser_console: list[str]
) -> None:
    org = OrganizerFactory(name="Alpha Live")
    manager = staff_member(org, email="manager@alpha.example", full_name="Mia Manager")
    genre = GenreFactory(name="Post-rock", slug="post-rock")
    event = EventFactory(
        organizer=org, venue=VenueFactory(organizer=org, name="Lux Frágil"), title="Mogwai in Lisbon"
    )
    event.genres.add(genre)
    LineupFactory(event=event, artist=ArtistFactory(name="Mogwai"), position=1, is_headliner=True)
    LineupFactory(event=event, artist=ArtistFactory(name="Moon Duo"), position=2)
    TicketTypeFactory(event=event, name="Standing", capacity=800, price=Decimal("35.00"))
    TicketType.objects.filter(event=event).update(sold=312, held=8)
    for n in range(4):
        EventFactory(organizer=org, venue=event.venue, title=f"Alpha Night {n}")
    EventFactory(title="Bravo Night")  # another organizer's
    SHOTS.mkdir(parents=True, exist_ok=True)

    _sign_in(page, live_server, manager.email)
    _shot(page, "index")

    page.goto(f"{live_server.url}{reverse('admin:events_event_changelist')}", wait_until="networkidle")
    assert page.get_by_role("link", name="Mogwai in Lisbon").is_visible()
    assert page.get_by_text("Bravo Night").count() == 0
    _shot(page, "event-changelist")
    # unfold's filter sheet, opened by Alpine (an <a> without href: not a "link" role, not focusable).
    page.locator("a", has_text="Filters").click()
    page.get_by_text("Upcoming").first.wait_for(state="visible")
    _shot(page, "event-changelist-filters")

    page.goto(f"{live_server.url}{change_url(event)}", wait_until="networkidle")
    assert page.locator("#id_title").input_value() == "Mogwai in Lisbon"
    _shot(page, "event-change")
    page.get_by_role("link", name="Lineup").click()  # inlines sit in tabs that only Alpine opens
    page.get_by_text("Moon Duo").first.wait_for(state="visible")
    _shot(page, "event-change-lineup")
    page.get_by_role("link", name="Ticket types").click()
    # Sold, shown read-only. Waited for like the lineup above: Alpine opens the tab after the click, and an
    # immediate is_visible() failed once in CI.
    page.locator("div.readonly", has_text="312").first.wait_for(state="visible")
    _shot(page, "event-change-tickets")

    page.get_by_role("link", name="General").click()
    page.locator("#id_title").fill("Mogwai in Lisbon (second show)")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(f"{live_server.url}{reverse('admin:events_event_changelist')}", wait_until="load")
    event.refresh_from_db()
    assert event.title == "Mogwai in Lisbon (second show)"

    page.goto(f"{live_server.url}{reverse('admin:events_event_history', args=[event.pk])}", wait_until="load")
    assert page.get_by_text("manager@alpha.example").first.is_visible()
    _shot(page, "event-history")

    assert _csp_errors(browser_console) == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_superuser_admin_pages_work_in_the_browser_without_csp_errors(
    live_server: LiveServer, page: Page, browser_console: list[str]
) -> None:
    boss = SuperuserFactory(email="boss@grasshopper.example", full_name="Bo Boss")
    event = EventFactory(title="Mogwai in Lisbon", venue=VenueFactory(name="Lux Frágil"))
    EventFactory(title="Bravo Night")
    staff_member(event.organizer, email="manager@alpha.example")
    SHOTS.mkdir(parents=True, exist_ok=True)
    _sign_in(page, live_server, boss.email)

    page.goto(f"{live_server.url}{reverse('admin:events_event_changelist')}", wait_until="networkidle")
    page.locator("input.action-select").first.check()  # the actions bar (Alpine-sized) appears
    _shot(page, "superuser-event-changelist")
    page.goto(f"{live_server.url}{reverse('admin:events_event_add')}", wait_until="networkidle")
    _shot(page, "superuser-event-add")
    page.goto(f"{live_server.url}{change_url(event.organizer)}", wait_until="networkidle")
    page.get_by_role("link", name="Organizer members").click()
    _shot(page, "superuser-organizer-members")
    page.goto(f"{live_server.url}{reverse('admin:events_venue_changelist')}", wait_until="networkidle")
    _shot(page, "superuser-venue-changelist")
    page.goto(f"{live_server.url}{reverse('admin:accounts_user_changelist')}", wait_until="networkidle")
    _shot(page, "superuser-user-changelist")
    page.goto(f"{live_server.url}{change_url(boss)}", wait_until="networkidle")
    _shot(page, "superuser-user-change")

    assert _csp_errors(browser_console) == []
