"""`make run` loads the demo data once and prints a staff login that really signs in."""

import pytest
from django.core.management import CommandError, call_command

from events.demo import DEFAULT_EVENTS, ORGANIZERS
from events.models import Artist, Event, Lineup, OrganizerMember, TicketType, Venue
from events.services_admin import ORGANIZER_STAFF_GROUP
from grasshopper.demo.services import DEMO_ORGANIZER_EMAIL, DEMO_STAFF_EMAIL, DEMO_STAFF_PASSWORD

CATALOGUE = (Venue, Artist, Event, Lineup, TicketType, OrganizerMember)


@pytest.mark.django_db
def test_demo_setup_creates_a_staff_login_once_and_prints_it(settings, client, capsys) -> None:
    settings.DEBUG = True
    call_command("demo_setup")
    first = capsys.readouterr().out
    call_command("demo_setup")
    second = capsys.readouterr().out

    assert DEMO_STAFF_EMAIL in first
    assert DEMO_STAFF_PASSWORD in first
    assert "created" in first
    assert "already there" in second

    response = client.post("/accounts/login/", {"login": DEMO_STAFF_EMAIL, "password": DEMO_STAFF_PASSWORD})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_demo_setup_seeds_the_catalogue_and_an_organizer_login_once(settings, client, capsys) -> None:
    settings.DEBUG = True
    call_command("demo_setup")
    first = capsys.readouterr().out
    counts = {model: model.objects.count() for model in CATALOGUE}
    call_command("demo_setup")

    assert {model: model.objects.count() for model in CATALOGUE} == counts  # nothing new the second time
    assert counts[Event] == DEFAULT_EVENTS
    assert Event.objects.filter(status=Event.Status.PUBLISHED, is_featured=True).exists()
    assert DEMO_ORGANIZER_EMAIL in first
    member = OrganizerMember.objects.select_related("user", "organizer").get(user__email=DEMO_ORGANIZER_EMAIL)
    assert member.organizer.slug == ORGANIZERS[0].slug
    assert member.role == OrganizerMember.Role.MANAGER
    assert member.user.is_staff
    assert not member.user.is_superuser
    assert member.user.groups.filter(name=ORGANIZER_STAFF_GROUP).exists()

    response = client.post(
        "/accounts/login/", {"login": DEMO_ORGANIZER_EMAIL, "password": DEMO_STAFF_PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/events/event/").status_code == 200  # the organizer's events, in the admin


@pytest.mark.django_db
def test_demo_setup_refuses_to_run_without_debug(settings) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="development only"):
        call_command("demo_setup")


def test_favicon_redirects_to_the_static_icon(client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("img/favicon.svg")
