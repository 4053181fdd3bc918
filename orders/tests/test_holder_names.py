"""Names on tickets: ``order_set_holder_names`` (pending: kept for payment; paid: written onto the valid
tickets) and the checkout page's form (one labelled field per admission, errors announced)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.tests.factories import VerifiedUserFactory
from orders.exceptions import HolderNamesInvalid, HolderNamesLocked
from orders.models import Order, Ticket
from orders.services import order_cancel, order_mark_paid, order_set_holder_names
from orders.tests.factories import place_order, ticket_type_on_sale
from orders.tests.htmlquery import soup

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket_type():
    return ticket_type_on_sale(capacity=20, name="Standing", max_per_order=4)


# --- Service ----------------------------------------------------------------------------------------------


def test_pending_names_are_kept_and_printed_at_payment(ticket_type) -> None:
    order = place_order(ticket_type, 3, buyer_name="Bia Buyer")

    order = order_set_holder_names(order=order, names=["  Ana  ", "", "Rui"], actor=None)

    assert order.holder_names == ["Ana", "", "Rui"]
    order_mark_paid(order=order, provider="test", reference="t1")
    assert list(order.tickets.order_by("id").values_list("holder_name", flat=True)) == [
        "Ana",
        "Bia Buyer",  # blank: the buyer's name
        "Rui",
    ]


def test_trailing_blanks_are_dropped_and_fewer_names_than_tickets_are_fine(ticket_type) -> None:
    order = place_order(ticket_type, 3)

    order = order_set_holder_names(order=order, names=["Ana", "", ""], actor=None)

    assert order.holder_names == ["Ana"]


@pytest.mark.parametrize(
    "names", [["A", "B", "C"], ["x" * 151]], ids=["more names than tickets", "a name too long"]
)
def test_invalid_names_are_refused_and_nothing_changes(ticket_type, names) -> None:
    order = place_order(ticket_type, 2, holder_names=["Ana"])

    with pytest.raises(HolderNamesInvalid) as caught:
        order_set_holder_names(order=order, names=names, actor=None)

    assert caught.value.code == "holder_names_invalid"
    order.refresh_from_db()
    assert order.holder_names == ["Ana"]


def test_a_name_of_150_characters_is_accepted(ticket_type) -> None:
    order = place_order(ticket_type, 1)

    assert order_set_holder_names(order=order, names=["x" * 150], actor=None).holder_names == ["x" * 150]


def test_paid_order_renames_its_valid_tickets_only(ticket_type) -> None:
    order = order_mark_paid(order=place_order(ticket_type, 3, buyer_name="Bia"), provider="t", reference="1")
    first, second, third = order.tickets.order_by("id")
    Ticket.objects.filter(pk=second.pk).update(status=Ticket.Status.VOID, holder_name="Old")

    order = order_set_holder_names(order=order, names=["Ana", ""], actor=None)

    names = dict(order.tickets.values_list("pk", "holder_name"))
    assert names == {first.pk: "Ana", second.pk: "Old", third.pk: "Bia"}
    assert order.holder_names == ["Ana"]
    with pytest.raises(HolderNamesInvalid):  # two valid tickets: three names are too many
        order_set_holder_names(order=order, names=["A", "B", "C"], actor=None)


def test_cancelled_order_is_locked(ticket_type) -> None:
    order = order_cancel(order=place_order(ticket_type, 1), actor=None)

    with pytest.raises(HolderNamesLocked) as caught:
        order_set_holder_names(order=order, names=["Ana"], actor=None)

    assert caught.value.code == "holder_names_locked"


# --- Checkout page ----------------------------------------------------------------------------------------


def _signed_in_order(client, ticket_type, quantity: int = 2) -> Order:
    user = VerifiedUserFactory()
    client.force_login(user)
    return place_order(ticket_type, quantity, buyer=user)


def test_checkout_page_has_one_labelled_field_per_admission(client, ticket_type) -> None:
    order = _signed_in_order(client, ticket_type, 2)

    page = soup(client.get(reverse("orders:checkout", kwargs={"code": order.code})).content)

    form = page.select_one(
        "form[action='{}']".format(reverse("orders:holder_names", kwargs={"code": order.code}))
    )
    assert form is not None
    inputs = form.select("input[type=text]")
    assert [i["name"] for i in inputs] == ["holder_1", "holder_2"]
    for field in inputs:
        label = page.select_one(f"label[for='{field['id']}']")
        assert label is not None
        assert "Standing" in label.get_text()
        assert field["maxlength"] == "150"
        assert not field.has_attr("required")
    assert page.select_one("[style]") is None  # CSP: no inline style


def test_posting_names_saves_them_and_shows_them_again(client, ticket_type) -> None:
    order = _signed_in_order(client, ticket_type, 2)
    url = reverse("orders:holder_names", kwargs={"code": order.code})

    response = client.post(url, {"holder_1": "Ana Moura", "holder_2": ""})

    assert response.status_code == 302
    assert response["Location"] == reverse("orders:checkout", kwargs={"code": order.code})
    order.refresh_from_db()
    assert order.holder_names == ["Ana Moura"]
    page = soup(client.get(response["Location"]).content)
    assert page.select_one("#id_holder_1")["value"] == "Ana Moura"
    assert "Names saved" in page.select_one("#messages").get_text()


def test_too_long_name_is_shown_next_to_its_field_and_announced(client, ticket_type) -> None:
    order = _signed_in_order(client, ticket_type, 2)

    response = client.post(
        reverse("orders:holder_names", kwargs={"code": order.code}), {"holder_1": "x" * 151}
    )

    assert response.status_code == 400
    page = soup(response.content)
    alert = page.select_one(".holder-names [role=alert]")
    assert alert is not None
    assert alert.select_one("a[href='#id_holder_1']") is not None
    field = page.select_one("#id_holder_1")
    assert field["aria-invalid"] == "true"
    assert "id_holder_1_error" in field["aria-describedby"]
    order.refresh_from_db()
    assert order.holder_names == []


def test_names_for_an_order_no_longer_pending_show_the_reason(client, ticket_type) -> None:
    order = _signed_in_order(client, ticket_type, 1)
    order_cancel(order=order, actor=None)

    response = client.post(reverse("orders:holder_names", kwargs={"code": order.code}), {"holder_1": "Ana"})

    assert response.status_code == 302
    page = soup(client.get(response["Location"]).content)
    assert "pending or paid" in page.select_one("#messages").get_text()


def test_someone_elses_order_is_404(client, ticket_type) -> None:
    order = place_order(ticket_type, 1, buyer=VerifiedUserFactory())
    client.force_login(VerifiedUserFactory())

    response = client.post(reverse("orders:holder_names", kwargs={"code": order.code}), {"holder_1": "Eve"})

    assert response.status_code == 404
    order.refresh_from_db()
    assert order.holder_names == []


def test_guest_with_the_session_link_can_name_tickets(client, ticket_type) -> None:
    event = ticket_type.event
    client.post(
        reverse("orders:checkout_start"),
        {"event": event.slug, f"qty_{ticket_type.pk}": 1, "email": "guest@example.com"},
    )
    order = Order.objects.get()

    response = client.post(reverse("orders:holder_names", kwargs={"code": order.code}), {"holder_1": "Gil"})

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.holder_names == ["Gil"]
