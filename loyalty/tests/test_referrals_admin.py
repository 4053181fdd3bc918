"""The referrals' staff admin: read-only list and page with each referral's reward state (points each side
got, a welcome discount, taken back), its refusal reason and the ledger rows behind it; search by email or
code, filter by status; a list whose query count does not grow; superusers only (organizer staff, and
staff holding Django's loyalty permissions, see nothing, as for the ledger)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import SuperuserFactory, VerifiedUserFactory
from events.services_admin import organizer_member_grant_staff
from events.tests.factories import OrganizerMemberFactory
from loyalty.models import Referral
from loyalty.services_referrals import referral_discount_apply
from loyalty.tests.factories import paid_order, priced_ticket_type
from loyalty.tests.referral_helpers import code_of, paid_with_card_row, referred
from orders.models import Order
from orders.services import order_mark_paid
from orders.services_payments import order_refund
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db
S = Referral.Status
LIST = "admin:loyalty_referral_changelist"


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LOYALTY_POINTS_PER_UNIT = 10
    settings.REFERRAL_REFERRER_POINTS = 500
    settings.REFERRAL_REFEREE_REWARD = "points"
    settings.REFERRAL_REFEREE_POINTS = 250
    settings.REFERRAL_REWARDS_PER_MONTH = 1


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def queries(call: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


@pytest.fixture
def referrals() -> dict[str, Any]:
    """Ana's referrals: Bea rewarded, Cid refused (monthly limit of 1), Dan still waiting; Eve's: Fay
    rewarded, then her first order fully refunded (reversed, points taken back)."""
    ana = VerifiedUserFactory(email="ana@example.com")
    eve = VerifiedUserFactory(email="eve@example.com")
    tt = priced_ticket_type("20.00")
    bea, rewarded = referred(ana, email="bea@example.com")
    first = paid_order(bea, tt)
    cid, rejected = referred(ana, email="cid@example.com")
    paid_order(cid, tt)
    _dan, waiting = referred(ana, email="dan@example.com")
    fay, reversed_ = referred(eve, email="fay@example.com")
    refunded = paid_with_card_row(fay, tt)
    order_refund(order=refunded, actor=None)
    for referral in (rewarded, rejected, waiting, reversed_):
        referral.refresh_from_db()
    assert [r.status for r in (rewarded, rejected, waiting, reversed_)] == [
        S.REWARDED,
        S.REJECTED,
        S.SIGNED_UP,
        S.REVERSED,
    ]
    return {
        "ana": ana,
        "rewarded": rewarded,
        "rejected": rejected,
        "waiting": waiting,
        "reversed": reversed_,
        "first_order": first,
    }


def test_the_list_shows_each_referrals_reward_state(referrals: dict[str, Any]) -> None:
    response = signed_in(SuperuserFactory()).get(reverse(LIST))

    assert response.status_code == 200
    shown = {r.pk: r for r in response.context["cl"].result_list}
    admin = response.context["cl"].model_admin
    assert set(shown) == {referrals[k].pk for k in ("rewarded", "rejected", "waiting", "reversed")}
    assert admin.reward(shown[referrals["rewarded"].pk]) == "referrer +500 points, referee +250 points"
    assert admin.reward(shown[referrals["rejected"].pk]) == "—"
    assert admin.reward(shown[referrals["waiting"].pk]) == "—"
    # Empty model fields (a waiting referral's reward date) say "—" too, not Django's "-".
    cells = re.findall(
        r'<td class="field-rewarded_at[^"]*"[^>]*>\s*(.*?)\s*</td>', response.content.decode(), re.S
    )
    assert "—" in cells
    assert "-" not in cells
    assert (
        admin.reward(shown[referrals["reversed"].pk])
        == "referrer +500 points, referee +250 points (points taken back)"
    )
    assert admin.code(shown[referrals["rewarded"].pk]) == code_of(referrals["ana"])
    html = response.content.decode()
    assert "bea@example.com" in html
    assert referrals["first_order"].code in html  # linked to the order's admin page
    assert reverse("admin:orders_order_change", args=[referrals["first_order"].pk]) in html
    assert "monthly_limit" in html  # the refusal reason


def test_the_list_shows_a_welcome_discount(settings: Any) -> None:
    settings.REFERRAL_REFEREE_REWARD = "discount"
    settings.REFERRAL_REFEREE_DISCOUNT = "5.00"
    bea, referral = referred(VerifiedUserFactory())
    order = place_order(priced_ticket_type("40.00"), buyer=bea)
    referral_discount_apply(user=bea, order=order)
    order_mark_paid(order=Order.objects.get(pk=order.pk), provider="test", reference=f"t:{order.code}")

    response = signed_in(SuperuserFactory()).get(reverse(LIST))
    (row,) = response.context["cl"].result_list
    assert response.context["cl"].model_admin.reward(row) == "referrer +500 points, referee €5.00 off"
    assert row.pk == referral.pk


def test_search_by_email_or_code_and_filter_by_status(referrals: dict[str, Any]) -> None:
    client = signed_in(SuperuserFactory())

    def found(**params: str) -> set[int]:
        response = client.get(reverse(LIST), params)
        assert response.status_code == 200
        return {r.pk for r in response.context["cl"].result_list}

    assert found(q="bea@example.com") == {referrals["rewarded"].pk}  # the referee's address
    assert found(q="eve@example.com") == {referrals["reversed"].pk}  # the referrer's address
    ana_code = code_of(referrals["ana"])
    assert found(q=ana_code.lower()) == {referrals[k].pk for k in ("rewarded", "rejected", "waiting")}
    assert found(q=referrals["first_order"].code) == {referrals["rewarded"].pk}
    assert found(status__exact=S.REJECTED) == {referrals["rejected"].pk}
    assert found(status__exact=S.REVERSED) == {referrals["reversed"].pk}


def test_the_page_shows_the_reason_and_the_ledger_rows(referrals: dict[str, Any]) -> None:
    client = signed_in(SuperuserFactory())

    reversed_ = referrals["reversed"]
    page = client.get(reverse("admin:loyalty_referral_change", args=[reversed_.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "first_order_refunded" in html
    assert "fay@example.com" in html
    for points in ("+500", "-500", "+250", "-250"):
        assert f">{points}</td>" in html
    ledger = reverse("admin:loyalty_ledgerentry_changelist") + f"?source__exact=referral:{reversed_.pk}"
    assert ledger.replace("&", "&amp;") in html or ledger in html
    rows = client.get(ledger).context["cl"].result_list
    assert sorted(e.points for e in rows) == [-500, -250, 250, 500]

    refused = client.get(reverse("admin:loyalty_referral_change", args=[referrals["rejected"].pk]))
    assert "monthly_limit" in refused.content.decode()
    assert "No points moved for this referral." in refused.content.decode()


def test_the_list_costs_the_same_queries_whatever_its_length(referrals: dict[str, Any]) -> None:
    client = signed_in(SuperuserFactory())
    client.get(reverse(LIST))  # warm the session
    few = queries(lambda: client.get(reverse(LIST)))
    tt = priced_ticket_type("20.00")
    for n in range(6):
        referee, _ = referred(VerifiedUserFactory(), email=f"more{n}@example.com")
        paid_order(referee, tt)
    assert Referral.objects.count() == 10
    assert queries(lambda: client.get(reverse(LIST))) == few


def test_nobody_changes_a_referral_through_the_admin(referrals: dict[str, Any]) -> None:
    client = signed_in(SuperuserFactory())
    referral = referrals["waiting"]
    assert client.get(reverse("admin:loyalty_referral_add")).status_code == 403
    assert client.post(reverse("admin:loyalty_referral_delete", args=[referral.pk])).status_code == 403
    response = client.post(
        reverse("admin:loyalty_referral_change", args=[referral.pk]), {"status": S.REWARDED}
    )
    assert response.status_code == 403
    assert Referral.objects.get(pk=referral.pk).status == S.SIGNED_UP


def _organizer_staff() -> User:
    member = OrganizerMemberFactory(user=VerifiedUserFactory())
    organizer_member_grant_staff(member=member, actor=None)
    return User.objects.get(pk=member.user_id)


def _staff_with_loyalty_permissions() -> User:
    user = VerifiedUserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="loyalty"))
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize("who", [_organizer_staff, _staff_with_loyalty_permissions])
def test_only_superusers_see_referrals(referrals: dict[str, Any], who: Callable[[], User]) -> None:
    client = signed_in(who())
    referral = referrals["rewarded"]

    assert client.get(reverse(LIST)).status_code == 403
    assert client.get(reverse("admin:loyalty_referral_change", args=[referral.pk])).status_code == 403
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert reverse(LIST) not in index.content.decode()
    assert "bea@example.com" not in client.get(reverse(LIST) + "?q=bea").content.decode()
