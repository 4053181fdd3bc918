"""`make run` loads the demo data once (catalogue, and its sales as paid orders that `inventory_audit` finds
no drift in) and prints a staff login that really signs in; `manage.py seed_demo` at any size."""

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from events.demo import DEFAULT_EVENTS, ORGANIZERS
from events.models import Artist, Event, Lineup, OrganizerMember, TicketType, Venue
from events.services_admin import ORGANIZER_STAFF_GROUP
from grasshopper.demo.services import DEMO_ORGANIZER_EMAIL, DEMO_STAFF_EMAIL, DEMO_STAFF_PASSWORD
from orders.models import Order, OrderEvent, Ticket

CATALOGUE = (Venue, Artist, Event, Lineup, TicketType, OrganizerMember)


@pytest.mark.django_db
def test_demo_setup_creates_a_staff_login_once_and_prints_it(settings, client, capsys) -> None:
    settings.DEBUG = True
    settings.SITE_URL = "http://127.0.0.1:8765"  # `make run PORT=8765`: the printed links follow
    call_command("demo_setup")
    first = capsys.readouterr().out
    call_command("demo_setup")
    second = capsys.readouterr().out

    assert DEMO_STAFF_EMAIL in first
    assert DEMO_STAFF_PASSWORD in first
    assert "Admin:      http://127.0.0.1:8765/admin/" in first
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


@pytest.mark.django_db
def test_demo_sales_are_paid_orders_and_the_audit_finds_no_drift(settings, capsys) -> None:
    settings.DEBUG = True
    call_command("demo_setup")
    capsys.readouterr()

    call_command("inventory_audit")  # raises CommandError (exit status 1) on drift

    assert "No drift" in capsys.readouterr().out
    published = TicketType.objects.filter(event__status=Event.Status.PUBLISHED)
    assert published.filter(sold=F("capacity")).exists()  # sold out
    assert published.filter(sold__lt=F("capacity"), sold__gte=F("capacity") - 8).exists()  # nearly
    assert not TicketType.objects.filter(held__gt=0).exists()
    assert 0 < Order.objects.count() <= 500  # "a few hundred": demo orders hold many seats each
    assert not Order.objects.exclude(status=Order.Status.PAID).exists()
    assert not Order.objects.exclude(buyer__email__endswith="@buyers.grasshopper.localhost").exists()
    # Paid means ticketed: one valid ticket per admission, and the audit trail of each sale.
    assert Ticket.objects.filter(status=Ticket.Status.VALID).count() == sum(
        TicketType.objects.values_list("sold", flat=True)
    )
    paid = OrderEvent.objects.filter(to_status=Order.Status.PAID)
    assert paid.count() == Order.objects.count()
    assert sum(paid.values_list("seats_delta", flat=True)) == Ticket.objects.count()
    assert sum(paid.values_list("money_delta", flat=True)) == sum(
        Order.objects.values_list("total", flat=True)
    )
    assert not Order.objects.exclude(total=F("subtotal")).exists()

    orders, tickets = Order.objects.count(), Ticket.objects.count()
    call_command("demo_setup")
    assert (Order.objects.count(), Ticket.objects.count()) == (orders, tickets)  # sold once


@pytest.mark.django_db
def test_seed_demo_command_seeds_sales_once(settings, capsys) -> None:
    settings.DEBUG = True
    call_command("seed_demo", "--events", "30", "--artists", "40", "--seed", "7")
    first = capsys.readouterr().out
    counts = {model: model.objects.count() for model in (*CATALOGUE, Order, Ticket)}

    call_command("seed_demo", "--events", "30", "--artists", "40", "--seed", "7")

    assert "paid orders" in first
    assert "nothing to add" in capsys.readouterr().out
    assert {model: model.objects.count() for model in (*CATALOGUE, Order, Ticket)} == counts
    assert counts[Event] == 30
    assert counts[Order] > 0
    call_command("inventory_audit")
    assert "No drift" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_without_sales_leaves_every_ticket_unsold(settings) -> None:
    settings.DEBUG = True
    call_command("seed_demo", "--events", "10", "--artists", "20", "--no-sales")

    assert Event.objects.count() == 10
    assert not Order.objects.exists()
    assert not TicketType.objects.filter(sold__gt=0).exists()


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug_unless_forced(settings) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", "--events", "2", "--artists", "3")
    assert not Event.objects.exists()

    call_command("seed_demo", "--events", "2", "--artists", "3", "--force")

    assert Event.objects.count() == 2


@pytest.mark.django_db
def test_seed_demo_rejects_events_without_artists(settings) -> None:
    settings.DEBUG = True
    with pytest.raises(CommandError, match="artists"):
        call_command("seed_demo", "--events", "2", "--artists", "0")
