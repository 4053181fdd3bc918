"""The orders API: buy (hold seats) with an Idempotency-Key, list and read one's orders, cancel, rate limits.

Clients sign in the way the mobile app does (allauth headless session token, ``X-Session-Token``).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import VerifiedUserFactory
from accounts.tests.helpers import api_client
from events.models import Event, TicketType
from events.tests.factories import EventFactory, TicketTypeFactory
from orders.models import Order
from orders.services import OrderLineInput, order_create, order_expire

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _generous_rate_limit(settings: Any) -> None:
    """Tests that are not about the rate limit must not trip over it."""
    settings.ORDERS_RATE_LIMIT = "1000/m"
    settings.ORDERS_RATE_LIMIT_ENABLED = True


# --- helpers ----------------------------------------------------------------------------------------------


def api(user: User | None = None, *, ip: str = "127.0.0.1") -> APIClient:
    """A client from ``ip``, signed in as ``user`` with a session token from allauth headless when given."""
    return api_client(user, REMOTE_ADDR=ip)


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == code, body
    return body


def body(*lines: tuple[TicketType, int], **extra: Any) -> dict[str, Any]:
    return {"lines": [{"ticket_type": tt.pk, "quantity": n} for tt, n in lines], **extra}


def held(ticket_type: TicketType) -> int:
    ticket_type.refresh_from_db()
    return ticket_type.held


def detail(code: str) -> str:
    return f"{ORDERS}{code}/"


def make_order(user: User, ticket_type: TicketType, quantity: int = 1) -> Order:
    return order_create(
        lines=[OrderLineInput(ticket_type_id=ticket_type.pk, quantity=quantity)], buyer=user, email=user.email
    )


@pytest.fixture
def buyer() -> User:
    return VerifiedUserFactory(email="buyer@example.com")


@pytest.fixture
def client(buyer: User) -> APIClient:
    return api(buyer)


@pytest.fixture
def ticket_type() -> TicketType:
    return TicketTypeFactory(price=Decimal("20.00"), fee=Decimal("2.50"), capacity=10, max_per_order=4)


# --- create -----------------------------------------------------------------------------------------------


def test_create_holds_seats_and_answers_201_with_totals(client: APIClient, ticket_type: TicketType) -> None:
    vip = TicketTypeFactory(event=ticket_type.event, name="VIP", price=Decimal("50.00"), fee=Decimal("0"))

    response = client.post(ORDERS, body((ticket_type, 2), (vip, 1)), format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "pending"
    assert data["email"] == "buyer@example.com"
    assert data["subtotal"] == "95.00"
    assert data["discount_total"] == "0.00"
    assert data["total"] == "95.00"
    assert data["currency"] == "EUR"
    assert data["expires_at"] is not None
    assert data["tickets"] == []
    assert data["event"]["slug"] == ticket_type.event.slug
    lines = {line["ticket_type"]: line for line in data["lines"]}
    assert lines[ticket_type.pk]["quantity"] == 2
    assert lines[ticket_type.pk]["unit_price"] == "22.50"
    assert lines[ticket_type.pk]["line_total"] == "45.00"
    assert lines[vip.pk]["line_total"] == "50.00"
    assert response["Location"].endswith(detail(data["code"]))
    assert "Idempotent-Replayed" not in response
    assert held(ticket_type) == 2
    assert held(vip) == 1
    assert Order.objects.get(code=data["code"]).buyer.email == "buyer@example.com"


def test_create_keeps_holder_names(client: APIClient, ticket_type: TicketType) -> None:
    response = client.post(ORDERS, body((ticket_type, 2), holder_names=["Ana", "Rui"]), format="json")

    assert response.status_code == 201, response.content


def test_anonymous_cannot_buy_or_list() -> None:
    ticket_type = TicketTypeFactory()

    problem(api().post(ORDERS, body((ticket_type, 1)), format="json"), 401, "not_authenticated")
    problem(api().get(ORDERS), 401, "not_authenticated")
    assert held(ticket_type) == 0


# --- idempotency ------------------------------------------------------------------------------------------


def test_a_replayed_key_returns_the_same_order_and_holds_nothing_more(
    client: APIClient, ticket_type: TicketType
) -> None:
    first = client.post(ORDERS, body((ticket_type, 2)), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    # Same body, other key order and spacing: the same request.
    again = client.generic(
        "POST",
        ORDERS,
        f'{{ "lines" : [ {{ "quantity": 2, "ticket_type": {ticket_type.pk} }} ] }}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert first.status_code == 201, first.content
    assert again.status_code == 200, again.content
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["code"] == first.json()["code"]
    assert Order.objects.count() == 1
    assert held(ticket_type) == 2


def test_the_same_key_with_another_body_is_422(client: APIClient, ticket_type: TicketType) -> None:
    client.post(ORDERS, body((ticket_type, 2)), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    response = client.post(ORDERS, body((ticket_type, 3)), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    problem(response, 422, "idempotency_key_reused")
    assert Order.objects.count() == 1
    assert held(ticket_type) == 2


def test_keys_belong_to_their_buyer(client: APIClient, ticket_type: TicketType) -> None:
    other = api(VerifiedUserFactory())
    mine = client.post(ORDERS, body((ticket_type, 1)), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    theirs = other.post(ORDERS, body((ticket_type, 1)), format="json", HTTP_IDEMPOTENCY_KEY="shared")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["code"] != theirs.json()["code"]


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there", "line\n"])
def test_a_malformed_key_is_400_and_changes_nothing(
    client: APIClient, ticket_type: TicketType, key: str
) -> None:
    response = client.post(ORDERS, body((ticket_type, 1)), format="json", headers={"Idempotency-Key": key})

    problem(response, 400, "idempotency_key_invalid")
    assert Order.objects.count() == 0
    assert held(ticket_type) == 0


def test_a_key_of_255_printable_characters_is_fine(client: APIClient, ticket_type: TicketType) -> None:
    key = ("~ !" * 100)[:255]

    response = client.post(ORDERS, body((ticket_type, 1)), format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 201, response.content
    assert Order.objects.get().idempotency_key == key


# --- bad input: 4xx, stable codes, nothing changes ---------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "status", "code"),
    [(0, 400, "quantity_invalid"), (-1, 400, "quantity_invalid"), (5, 400, "max_per_order_exceeded")],
)
def test_bad_quantities_are_refused(
    client: APIClient, ticket_type: TicketType, quantity: int, status: int, code: str
) -> None:
    problem(client.post(ORDERS, body((ticket_type, quantity)), format="json"), status, code)
    assert Order.objects.count() == 0
    assert held(ticket_type) == 0


def test_not_enough_left_is_409_sold_out_with_available(client: APIClient) -> None:
    ticket_type = TicketTypeFactory(capacity=5, max_per_order=6)
    TicketType.objects.filter(pk=ticket_type.pk).update(sold=3)

    data = problem(client.post(ORDERS, body((ticket_type, 3)), format="json"), 409, "sold_out")

    assert data["available"] == 2
    assert Order.objects.count() == 0
    assert held(ticket_type) == 0


def test_closed_sales_are_409(client: APIClient) -> None:
    ended = TicketTypeFactory(sales_end=timezone.now() - timedelta(hours=1))

    problem(client.post(ORDERS, body((ended, 1)), format="json"), 409, "sales_closed")
    assert Order.objects.count() == 0


def test_unknown_and_foreign_ticket_types_are_refused(client: APIClient) -> None:
    hidden = TicketTypeFactory(is_visible=False)
    draft = TicketTypeFactory(event=EventFactory(status=Event.Status.DRAFT))

    for ticket_type_id in (987654321, 0, hidden.pk, draft.pk):
        response = client.post(
            ORDERS, {"lines": [{"ticket_type": ticket_type_id, "quantity": 1}]}, format="json"
        )
        problem(response, 400, "ticket_type_unknown")
    assert Order.objects.count() == 0
    assert held(hidden) == held(draft) == 0


def test_lines_of_two_events_are_refused(client: APIClient, ticket_type: TicketType) -> None:
    elsewhere = TicketTypeFactory()

    problem(client.post(ORDERS, body((ticket_type, 1), (elsewhere, 1)), format="json"), 400, "mixed_events")
    assert Order.objects.count() == 0
    assert held(ticket_type) == held(elsewhere) == 0


def test_a_repeated_ticket_type_is_refused_not_merged(client: APIClient, ticket_type: TicketType) -> None:
    data = problem(
        client.post(ORDERS, body((ticket_type, 1), (ticket_type, 2)), format="json"), 400, "validation_error"
    )

    assert data["errors"][0]["code"] == "duplicate_ticket_type"
    assert data["errors"][0]["attr"] == "lines"
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"lines": []},
        {},
        {"lines": [{"ticket_type": "abc", "quantity": 1}]},
        {"lines": [{"ticket_type": 1}]},
        {"lines": "nope"},
        {"lines": [{"ticket_type": pk, "quantity": 1} for pk in range(1, 22)]},  # over 20 lines
        {"lines": [{"ticket_type": 1, "quantity": 2**31}]},
        {"lines": [{"ticket_type": 1, "quantity": 1}], "holder_names": "Ana"},
    ],
)
def test_malformed_bodies_are_validation_errors(
    client: APIClient, ticket_type: TicketType, payload: dict[str, Any]
) -> None:
    problem(client.post(ORDERS, payload, format="json"), 400, "validation_error")
    assert Order.objects.count() == 0


def test_more_holder_names_than_tickets_is_refused(client: APIClient, ticket_type: TicketType) -> None:
    response = client.post(ORDERS, body((ticket_type, 1), holder_names=["Ana", "Rui"]), format="json")

    problem(response, 400, "quantity_invalid")
    assert held(ticket_type) == 0


# --- list and detail --------------------------------------------------------------------------------------


def test_list_shows_only_my_orders_newest_first_in_cursor_pages(
    buyer: User, client: APIClient, ticket_type: TicketType
) -> None:
    mine = [make_order(buyer, ticket_type).code for _ in range(3)]
    make_order(VerifiedUserFactory(), ticket_type)

    first = client.get(ORDERS, {"page_size": 2})
    assert first.status_code == 200, first.content
    page_one = first.json()
    assert "cursor=" in page_one["next"]
    second = client.get(page_one["next"]).json()

    codes = [item["code"] for item in page_one["results"] + second["results"]]
    assert codes == list(reversed(mine))
    assert second["next"] is None
    item = page_one["results"][0]
    assert set(item) == {"code", "status", "event", "currency", "total", "expires_at", "created"}
    assert item["total"] == "22.50"


def test_list_query_count_does_not_grow_with_orders(buyer: User, client: APIClient) -> None:
    def queries_for(count: int) -> int:
        """Add ``count`` orders (of a new event each time), then count the queries of listing them all."""
        ticket_type = TicketTypeFactory(capacity=100)
        for _ in range(count):
            make_order(buyer, ticket_type)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(ORDERS, {"page_size": 50})
        assert response.status_code == 200
        assert len(response.json()["results"]) == Order.objects.filter(buyer=buyer).count()
        return len(captured)

    with_3 = queries_for(3)
    with_20 = queries_for(17)  # 3 + 17 orders, over two events

    assert with_3 == with_20


def test_detail_of_my_order(buyer: User, client: APIClient, ticket_type: TicketType) -> None:
    order = make_order(buyer, ticket_type, 2)

    response = client.get(detail(order.code))

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["code"] == order.code
    assert data["status"] == "pending"
    assert data["total"] == "45.00"
    assert data["lines"][0]["name"] == ticket_type.name
    assert data["tickets"] == []


def test_another_buyers_order_is_not_found(ticket_type: TicketType, client: APIClient) -> None:
    theirs = make_order(VerifiedUserFactory(), ticket_type)

    problem(client.get(detail(theirs.code)), 404, "order_not_found")
    problem(client.post(f"{detail(theirs.code)}cancel/"), 404, "order_not_found")
    problem(client.get(detail("NOSUCHCODE")), 404, "order_not_found")
    assert Order.objects.get(pk=theirs.pk).status == Order.Status.PENDING


def test_a_free_order_is_paid_at_once_with_tickets_and_qr_payloads(client: APIClient) -> None:
    free = TicketTypeFactory(price=Decimal("0"), fee=Decimal("0"))

    created = client.post(ORDERS, body((free, 2), holder_names=["Ana"]), format="json")

    assert created.status_code == 201, created.content
    data = client.get(detail(created.json()["code"])).json()
    assert data["status"] == "paid"
    assert data["total"] == "0.00"
    assert len(data["tickets"]) == 2
    order = Order.objects.get(code=data["code"])
    assert {t["qr_payload"] for t in data["tickets"]} == {t.secret for t in order.tickets.all()}
    assert all(t["status"] == "valid" and t["ticket_type"] == free.pk for t in data["tickets"])
    assert data["tickets"][0]["holder_name"] == "Ana"


def test_a_pending_order_shows_no_ticket_secrets(
    buyer: User, client: APIClient, ticket_type: TicketType
) -> None:
    order = make_order(buyer, ticket_type)

    content = client.get(detail(order.code)).content.decode()

    assert "qr_payload" not in content


# --- cancel -----------------------------------------------------------------------------------------------


def test_cancel_releases_the_held_seats(buyer: User, client: APIClient, ticket_type: TicketType) -> None:
    order = make_order(buyer, ticket_type, 3)
    assert held(ticket_type) == 3

    response = client.post(f"{detail(order.code)}cancel/")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert held(ticket_type) == 0


def test_cancel_of_a_cancelled_or_expired_order_is_409(
    buyer: User, client: APIClient, ticket_type: TicketType
) -> None:
    cancelled = make_order(buyer, ticket_type)
    client.post(f"{detail(cancelled.code)}cancel/")
    expired = make_order(buyer, ticket_type)
    order_expire(order=expired, now=timezone.now() + timedelta(hours=2))

    problem(client.post(f"{detail(cancelled.code)}cancel/"), 409, "order_not_cancellable")
    problem(client.post(f"{detail(expired.code)}cancel/"), 409, "order_not_cancellable")
    assert held(ticket_type) == 0


def test_cancel_of_a_paid_order_is_409(client: APIClient) -> None:
    free = TicketTypeFactory(price=Decimal("0"), fee=Decimal("0"))
    code = client.post(ORDERS, body((free, 1)), format="json").json()["code"]

    problem(client.post(f"{detail(code)}cancel/"), 409, "order_not_cancellable")
    assert Order.objects.get(code=code).status == Order.Status.PAID


# --- rate limit -------------------------------------------------------------------------------------------


def test_orders_are_rate_limited_per_user_with_retry_after(
    settings: Any, client: APIClient, ticket_type: TicketType
) -> None:
    settings.ORDERS_RATE_LIMIT = "2/m"

    statuses = [client.post(ORDERS, body((ticket_type, 1)), format="json").status_code for _ in range(2)]
    refused = client.post(ORDERS, body((ticket_type, 1)), format="json")

    assert statuses == [201, 201]
    problem(refused, 429, "throttled")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert Order.objects.count() == 2
    assert held(ticket_type) == 2


def test_orders_are_rate_limited_per_ip(settings: Any, ticket_type: TicketType) -> None:
    settings.ORDERS_RATE_LIMIT = "2/m"
    first, second = api(VerifiedUserFactory(), ip="10.0.0.7"), api(VerifiedUserFactory(), ip="10.0.0.7")

    assert first.post(ORDERS, body((ticket_type, 1)), format="json").status_code == 201
    assert first.post(ORDERS, body((ticket_type, 1)), format="json").status_code == 201
    problem(second.post(ORDERS, body((ticket_type, 1)), format="json"), 429, "throttled")
    elsewhere = api(VerifiedUserFactory(), ip="10.0.0.8")
    assert elsewhere.post(ORDERS, body((ticket_type, 1)), format="json").status_code == 201


def test_the_rate_limit_can_be_switched_off(
    settings: Any, client: APIClient, ticket_type: TicketType
) -> None:
    settings.ORDERS_RATE_LIMIT = "1/m"
    settings.ORDERS_RATE_LIMIT_ENABLED = False

    statuses = [client.post(ORDERS, body((ticket_type, 1)), format="json").status_code for _ in range(3)]

    assert statuses == [201, 201, 201]


# --- the fast detail shape ----------------------------------------------------------------------------------


def test_detail_data_is_exactly_what_the_documented_serializer_gives_in_every_state() -> None:
    """The API answers with ``order_detail_data`` (fast) while the schema documents
    ``OrderDetailOutputSerializer``: for pending, paid (tickets, holder names, a check-in, an adjustment)
    and cancelled orders, free and priced, both give the same JSON, field for field."""
    from orders.api.serializers import OrderDetailOutputSerializer, order_detail_data
    from orders.models import Adjustment
    from orders.selectors import order_get_by_code
    from orders.services import order_cancel, order_create_or_replay

    buyer = VerifiedUserFactory()
    priced = TicketTypeFactory(capacity=10, price=Decimal("25.00"), fee=Decimal("2.50"))
    free = TicketTypeFactory(event=priced.event, capacity=10, price=Decimal("0.00"), fee=Decimal("0.00"))
    pending = order_create(
        lines=[OrderLineInput(ticket_type_id=priced.pk, quantity=2)], buyer=buyer, email=buyer.email
    )
    Adjustment.objects.create(
        order=pending, source="promo", reference="X1", description="Promo", amount="5.00"
    )
    cancelled = order_cancel(
        order=order_create(
            lines=[OrderLineInput(ticket_type_id=priced.pk, quantity=1)], buyer=buyer, email=buyer.email
        ),
        actor=buyer,
    )
    created = order_create_or_replay(
        lines=[OrderLineInput(ticket_type_id=free.pk, quantity=3)],
        buyer=buyer,
        email=buyer.email,
        buyer_name=buyer.full_name,
        holder_names=["Ana", "", "Bo"],
    )
    paid = created.order
    ticket = paid.tickets.first()
    ticket.checked_in_at = timezone.now()
    ticket.save()

    # The in-memory shape of a just-created order (no re-read) matches its re-read shape too.
    assert order_detail_data(paid)["tickets"]
    assert order_detail_data(paid)["lines"]
    for order in (pending, cancelled, paid):
        shaped = order_get_by_code(code=order.code)
        assert order_detail_data(shaped) == OrderDetailOutputSerializer(shaped).data
    fresh = order_get_by_code(code=paid.code)
    in_memory = order_detail_data(created.order)
    in_memory["tickets"][0]["checked_in_at"] = order_detail_data(fresh)["tickets"][0]["checked_in_at"]
    assert in_memory == order_detail_data(fresh)
    assert [t["holder_name"] for t in in_memory["tickets"]] == ["Ana", buyer.full_name, "Bo"]
