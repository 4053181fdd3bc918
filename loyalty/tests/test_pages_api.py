"""The loyalty pages, API and admin through the client: /account/loyalty/, "Pay with points" on the
checkout page, GET /api/v1/loyalty/ and /transactions/, POST /api/v1/orders/{code}/redeem-points/, and the
staff's "Adjust points"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import SuperuserFactory, VerifiedUserFactory
from loyalty import services
from loyalty.models import LedgerEntry, LoyaltyAccount
from loyalty.tests.factories import balance, buyer_with_points, paid_order, priced_ticket_type
from orders.models import Order
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"
ACCOUNT = "/account/loyalty/"


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LOYALTY_POINTS_PER_UNIT = 10
    settings.LOYALTY_TIER_THRESHOLDS = {"silver": 1000, "gold": 3000}
    settings.LOYALTY_TIER_MULTIPLIERS = {"bronze": 1.0, "silver": 1.5, "gold": 2.0}
    settings.LOYALTY_POINT_VALUE = "0.01"
    settings.LOYALTY_REDEEM_MAX_SHARE = "0.5"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == code, body
    return body


def queries(call: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


# --- /account/loyalty/ ----------------------------------------------------------------------------------


def test_account_page_needs_sign_in():
    response = Client().get(ACCOUNT)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_account_page_shows_balance_tier_expiry_and_history():
    buyer = buyer_with_points(250)
    order = paid_order(buyer, priced_ticket_type("80.00"))  # 800: 1050 in 12 months counts 800 (gift: adjust)

    response = signed_in(buyer).get(ACCOUNT)

    html = response.content.decode()
    assert response.status_code == 200
    assert '<data value="1050">1050</data> <span>points</span>' in html
    assert "Bronze" in html
    assert "200 more points to Silver" in html
    assert f"Order {order.code}" in html
    assert "Welcome gift" in html
    assert "Adjustment by staff" in html


def test_account_page_queries_do_not_grow_with_the_history():
    buyer = buyer_with_points(10)
    client = signed_in(buyer)
    client.get(ACCOUNT)  # warm the session and the cache
    few = queries(lambda: client.get(ACCOUNT))
    for n in range(15):
        services.points_adjust(user=buyer, points=10 + n, reason=f"Gift {n}", actor=None)
    assert queries(lambda: client.get(ACCOUNT)) == few


# --- "Pay with points" on the checkout page -------------------------------------------------------------


def test_checkout_shows_the_points_form_to_the_buyer_and_redeems():
    buyer = buyer_with_points(3000)
    order = place_order(priced_ticket_type("40.00"), buyer=buyer)
    client = signed_in(buyer)
    checkout = reverse("orders:checkout", kwargs={"code": order.code})

    page = client.get(checkout).content.decode()
    assert "Pay with points" in page
    assert 'max="2000"' in page  # half of 40.00

    response = client.post(reverse("loyalty:redeem", kwargs={"code": order.code}), {"points": "1200"})
    assert response.status_code == 302
    assert response["Location"] == f"{checkout}#pay-with-points"
    assert Order.objects.get(pk=order.pk).total == Decimal("28.00")
    page = client.get(checkout).content.decode()
    assert "1200 points used: the total is now €28.00." in page
    assert "Remove points from this order" in page

    client.post(reverse("loyalty:redeem", kwargs={"code": order.code}), {"remove": "1"})
    assert Order.objects.get(pk=order.pk).total == Decimal("40.00")
    assert balance(buyer) == 3000


def test_redeem_form_refusals_are_messages_and_strangers_get_404():
    buyer = buyer_with_points(500)
    order = place_order(priced_ticket_type("40.00"), buyer=buyer)
    client = signed_in(buyer)

    client.post(reverse("loyalty:redeem", kwargs={"code": order.code}), {"points": "501"})
    page = client.get(reverse("orders:checkout", kwargs={"code": order.code})).content.decode()
    assert "You can use at most 500 points on this order." in page
    assert balance(buyer) == 500

    stranger = signed_in(buyer_with_points(500))
    assert (
        stranger.post(reverse("loyalty:redeem", kwargs={"code": order.code}), {"points": "1"}).status_code
        == 404
    )


def test_guest_checkout_has_no_points_form():
    order = place_order(priced_ticket_type("40.00"))
    client = Client()
    session = client.session
    session.save()
    from orders.signing import guest_token_make

    url = reverse("orders:checkout", kwargs={"code": order.code}) + f"?t={guest_token_make(code=order.code)}"
    page = client.get(url).content.decode()
    assert "Pay with points" not in page


# --- API ----------------------------------------------------------------------------------------------------


def test_api_summary():
    buyer = buyer_with_points()
    paid_order(buyer, priced_ticket_type("120.00"))  # 1200: silver

    body = api(buyer).get("/api/v1/loyalty/").json()

    assert body["balance"] == 1200
    assert (body["tier"], body["tier_points"], body["next_tier"], body["points_to_next_tier"]) == (
        "silver",
        1200,
        "gold",
        1800,
    )
    assert body["next_expiry"]["points"] == 1200
    assert (body["point_value"], body["redeem_max_share"]) == ("0.0100", "0.50")
    assert api().get("/api/v1/loyalty/").status_code in (401, 403)


def test_api_transactions_cursor_pages_newest_first_in_constant_queries():
    buyer = buyer_with_points()
    for n in range(5):
        services.points_adjust(user=buyer, points=n + 1, reason=f"Gift {n}", actor=None)
    client = api(buyer)

    first = client.get("/api/v1/loyalty/transactions/", {"page_size": 3}).json()
    assert [row["points"] for row in first["results"]] == [5, 4, 3]
    assert first["results"][0]["kind"] == "adjust"
    second = client.get(first["next"]).json()
    assert [row["points"] for row in second["results"]] == [2, 1]
    assert second["next"] is None

    few = queries(lambda: client.get("/api/v1/loyalty/transactions/"))
    for n in range(10):
        services.points_adjust(user=buyer, points=1, reason=f"More {n}", actor=None)
    assert queries(lambda: client.get("/api/v1/loyalty/transactions/")) == few
    assert api(VerifiedUserFactory()).get("/api/v1/loyalty/transactions/").json()["results"] == []


def test_api_redeem_points():
    buyer = buyer_with_points(3000)
    order = place_order(priced_ticket_type("40.00"), buyer=buyer)
    url = f"/api/v1/orders/{order.code}/redeem-points/"
    client = api(buyer)

    response = client.post(url, {"points": 1500}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["total"], body["discount_total"]) == ("25.00", "15.00")
    assert body["adjustments"][0]["description"] == "1500 loyalty points"

    over = problem(client.post(url, {"points": 2001}, format="json"), 400, "points_over_limit")
    assert (over["max_points"], over["balance"]) == (2000, 1500)  # 1500 left, 1500 on the order
    problem(client.post(url, {"points": -1}, format="json"), 400, "validation_error")
    problem(api(buyer_with_points(10)).post(url, {"points": 1}, format="json"), 404, "order_not_found")
    assert client.post(url, {"points": 0}, format="json").json()["total"] == "40.00"
    assert balance(buyer) == 3000


def test_api_redeem_on_an_expired_hold_is_a_conflict():
    buyer = buyer_with_points(3000)
    order = place_order(priced_ticket_type("40.00"), buyer=buyer, now=timezone.now() - timedelta(hours=1))
    problem(
        api(buyer).post(f"/api/v1/orders/{order.code}/redeem-points/", {"points": 10}, format="json"),
        409,
        "order_not_adjustable",
    )


# --- Admin -------------------------------------------------------------------------------------------------


def test_staff_adjust_points_in_the_admin():
    admin_user = SuperuserFactory()
    buyer = buyer_with_points(100)
    account = LoyaltyAccount.objects.get(user=buyer)
    client = signed_in(admin_user)
    url = reverse("admin:loyalty_loyaltyaccount_adjust_points", args=[account.pk])

    assert client.get(reverse("admin:loyalty_loyaltyaccount_change", args=[account.pk])).status_code == 200
    assert client.get(url).status_code == 200
    response = client.post(url, {"points": "-40", "reason": "Duplicate order"})
    assert response.status_code == 302
    entry = LedgerEntry.objects.filter(user=buyer).latest("id")
    assert (entry.points, entry.kind, entry.description, entry.actor) == (
        -40,
        "adjust",
        "Duplicate order",
        admin_user,
    )
    assert balance(buyer) == 60

    client.post(url, {"points": "-61", "reason": "Too much"})
    assert balance(buyer) == 60  # refused: a message, nothing written
    page = client.get(reverse("admin:loyalty_loyaltyaccount_change", args=[account.pk])).content.decode()
    assert "<td>-40</td><td>Adjustment by staff</td>" in page  # the latest movements, each row shown
    assert "<td>Duplicate order</td>" in page
    assert client.get(reverse("admin:loyalty_ledgerentry_changelist")).status_code == 200


def test_non_superuser_staff_cannot_see_or_adjust():
    staff = VerifiedUserFactory(is_staff=True)
    account = LoyaltyAccount.objects.get(user=buyer_with_points(100))
    client = signed_in(staff)
    assert client.get(reverse("admin:loyalty_loyaltyaccount_changelist")).status_code == 403
    response = client.post(
        reverse("admin:loyalty_loyaltyaccount_adjust_points", args=[account.pk]),
        {"points": "5", "reason": "x"},
    )
    assert response.status_code in (302, 403, 404)
    assert balance(account.user) == 100
