"""Reads for referrals: finding a referral code's owner, what the payments of some orders reveal (card
fingerprints and billing addresses, for the abuse rules), whether an address already belongs to an account,
and the referral section of ``/account/loyalty/``.

Card and address facts come from dj-stripe's copies of Stripe's charges (synced from the ``charge.*``
webhooks before our receivers run): loyalty never calls Stripe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db.models import CharField, Exists, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from djstripe.models import Charge, PaymentMethod

from accounts.models import User
from loyalty.models import LedgerEntry, LoyaltyAccount, Referral
from orders.models import Adjustment, Order, Payment

# Mailboxes that ignore dots in the local part (and are one mailbox under both names).
DOTLESS_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


# --- Codes and links ---------------------------------------------------------------------------------------


def referral_code_normalize(code: str) -> str:
    """Codes are shown and stored upper case; a link typed in lower case works too."""
    return code.strip().upper()


def referral_account_by_code(*, code: str) -> LoyaltyAccount | None:
    """The active account whose referral code is ``code`` (any case), with its user; ``None`` if none."""
    return (
        LoyaltyAccount.objects.select_related("user")
        .filter(referral_code=referral_code_normalize(code), user__is_active=True)
        .first()
    )


def referral_link_path(*, code: str) -> str:
    return reverse("referrals:link", kwargs={"code": code})


def referral_link_url(*, code: str) -> str:
    """The share link: absolute, for pasting into a message."""
    return f"{settings.SITE_URL}{referral_link_path(code=code)}"


# --- "Does this address already have an account?" ---------------------------------------------------------


def email_canonical(email: str) -> str:
    """One mailbox, one form: lower case, without a ``+tag``, and without dots for Gmail
    (``Ana.B+promo@gmail.com`` -> ``anab@gmail.com``)."""
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in DOTLESS_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def _mailbox_regex(email: str) -> str:
    """A PostgreSQL regular expression matching every address of ``email``'s mailbox (see
    ``email_canonical``): any ``+tag``, and for Gmail any dots and either domain."""
    local, _, domain = email_canonical(email).rpartition("@")
    tag = r"(\+[^@]*)?"
    if domain in DOTLESS_DOMAINS:
        name = r"\.?".join(re.escape(char) for char in local)
        return rf"^{name}{tag}@(gmail\.com|googlemail\.com)$"
    return rf"^{re.escape(local)}{tag}@{re.escape(domain)}$"


def email_other_accounts(*, user: User) -> bool:
    """Whether the mailbox of ``user``'s address already belongs to another account: as its login, or as
    one of its (allauth) email addresses, under another case, ``+tag`` or Gmail spelling."""
    pattern = _mailbox_regex(user.email)
    if User.objects.filter(email__iregex=pattern).exclude(pk=user.pk).exists():
        return True
    return EmailAddress.objects.filter(email__iregex=pattern).exclude(user_id=user.pk).exists()


# --- What payments reveal (the card and address rules) ------------------------------------------------------


@dataclass(frozen=True)
class PaymentFacts:
    """The card fingerprints and billing addresses (normalised) of some orders' successful charges."""

    charges: int
    fingerprints: frozenset[str]
    addresses: frozenset[str]


def _address_key(address: dict[str, Any] | None) -> str:
    """A billing address reduced to what identifies it (street, postcode, country), or "" when Stripe did
    not collect enough of it to compare."""
    address = address or {}
    line1 = " ".join(str(address.get("line1") or "").lower().split())
    postcode = "".join(str(address.get("postal_code") or "").lower().split())
    if not line1 or not postcode:
        return ""
    return f"{line1}|{postcode}|{str(address.get('country') or '').upper()}"


def payment_facts_for_orders(*, codes: list[str]) -> PaymentFacts:
    """Card fingerprints and billing addresses of the successful Stripe charges of the orders ``codes``
    (three queries). A charge's own ``payment_method_details.card.fingerprint`` is used, else its payment
    method's."""
    if not codes:
        return PaymentFacts(charges=0, fingerprints=frozenset(), addresses=frozenset())
    intents = [
        pi
        for pi in Payment.objects.filter(order__code__in=codes, status=Payment.Status.SUCCEEDED).values_list(
            "stripe_payment_intent_id", flat=True
        )
        if pi
    ]
    charges = list(
        Charge.objects.filter(payment_intent_id__in=intents, status="succeeded").only(
            "id", "stripe_data", "payment_method_id"
        )
    )
    methods = {
        pm.id: pm.stripe_data or {}
        for pm in PaymentMethod.objects.filter(
            id__in=[c.payment_method_id for c in charges if c.payment_method_id]
        ).only("id", "stripe_data")
    }
    fingerprints, addresses = set(), set()
    for charge in charges:
        data = charge.stripe_data or {}
        method = methods.get(charge.payment_method_id or "", {})
        card = (data.get("payment_method_details") or {}).get("card") or {}
        fingerprint = card.get("fingerprint") or (method.get("card") or {}).get("fingerprint")
        if fingerprint:
            fingerprints.add(str(fingerprint))
        billing = data.get("billing_details") or method.get("billing_details") or {}
        if key := _address_key(billing.get("address")):
            addresses.add(key)
    return PaymentFacts(
        charges=len(charges), fingerprints=frozenset(fingerprints), addresses=frozenset(addresses)
    )


def referrer_order_codes(*, referral: Referral) -> list[str]:
    """The orders whose cards and addresses a referee's first order must not share: the referrer's own paid
    orders (signed in, or as a guest under their address) and the first orders of their other referrals."""
    referrer = referral.referrer
    own = Order.objects.filter(buyer_id=referrer.pk) | Order.objects.filter(
        buyer__isnull=True, email__iexact=referrer.email
    )
    others = (
        Referral.objects.filter(referrer_id=referrer.pk)
        .exclude(pk=referral.pk)
        .exclude(order_code="")
        .values_list("order_code", flat=True)
    )
    return list(own.exclude(paid_at__isnull=True).values_list("code", flat=True)) + list(others)


# --- The section of /account/loyalty/ -----------------------------------------------------------------------


def referral_display_name(user: User) -> str:
    """How a referral's other side is shown: their first name, else their address half hidden
    (``an…@example.com``)."""
    if user.full_name.strip():
        return user.full_name.split()[0]
    local, _, domain = user.email.partition("@")
    return f"{local[:2]}…@{domain}"


def referral_list_for_referrer(*, user: User) -> QuerySet[Referral]:
    """The people ``user`` referred, newest first, with the referee loaded."""
    return Referral.objects.filter(referrer_id=user.pk).select_related("referee").order_by("-created", "-id")


# What the referrer reads about each referral (the abuse reasons are for staff: never shown).
STATUS_TEXT: dict[str, str] = {
    Referral.Status.SIGNED_UP: "Signed up: rewarded when their first order is paid",
    Referral.Status.REWARDED: "Rewarded",
    Referral.Status.REVERSED: "Reward taken back: their first order was refunded",
    Referral.Status.REJECTED: "Not eligible for a reward",
}
WAITING_TEXT = "First order paid: reward on its way"


def referral_section_context(*, user: User, now: datetime, limit: int = 50) -> dict[str, Any]:
    """The referral section of ``/account/loyalty/``: the user's code and share link, what both sides get,
    and the people they referred with each one's status (three queries)."""
    account = LoyaltyAccount.objects.filter(user_id=user.pk).first()
    if account is None:
        LoyaltyAccount.objects.bulk_create([LoyaltyAccount(user_id=user.pk)], ignore_conflicts=True)
        account = LoyaltyAccount.objects.get(user_id=user.pk)
    referrals = []
    for referral in referral_list_for_referrer(user=user)[:limit]:
        waiting = referral.status == Referral.Status.SIGNED_UP and bool(referral.order_code)
        referrals.append(
            {
                "name": referral_display_name(referral.referee),
                "joined": referral.created,
                "status": referral.status,
                "status_text": WAITING_TEXT if waiting else STATUS_TEXT[referral.status],
                "rewarded_at": referral.rewarded_at,
            }
        )
    discount = settings.REFERRAL_REFEREE_REWARD == "discount"
    return {
        "code": account.referral_code,
        "link": referral_link_url(code=account.referral_code),
        "referrer_points": settings.REFERRAL_REFERRER_POINTS,
        "referee_points": 0 if discount else settings.REFERRAL_REFEREE_POINTS,
        "referee_discount": settings.REFERRAL_REFEREE_DISCOUNT if discount else "",
        "link_days": settings.REFERRAL_LINK_DAYS,
        "referrals": referrals,
        "rewarded_count": sum(1 for r in referrals if r["status"] == Referral.Status.REWARDED),
    }


# --- The staff admin ----------------------------------------------------------------------------------------


def _reward_source() -> Concat:
    """``referral:<id>`` of the outer referral: the source of its ledger rows and the reference of the
    referee's welcome discount (loyalty.services_referrals)."""
    return Concat(
        Value("referral:"), Cast(OuterRef("pk"), output_field=CharField()), output_field=CharField()
    )


def referral_list_for_staff() -> QuerySet[Referral]:
    """Every referral for the admin, newest first, with both users and the referrer's code loaded and the
    reward state annotated (one query, whatever the number of rows): ``referrer_points`` and
    ``referee_points`` (the ``referral`` ledger rows, or None), ``reward_taken_back`` (a ``reverse`` row
    under the same source), ``discount_amount`` / ``discount_currency`` (the referee's welcome discount on
    the first order, or None) and ``order_id`` (that first order, for a link)."""
    rows = LedgerEntry.objects.filter(source=_reward_source())
    reward = rows.filter(kind=LedgerEntry.Kind.REFERRAL)
    discount = Adjustment.objects.filter(
        source="referral", reference=_reward_source(), order__code=OuterRef("order_code")
    )
    return (
        Referral.objects.select_related("referrer__loyalty", "referee")
        .annotate(
            referrer_points=Subquery(reward.filter(user_id=OuterRef("referrer_id")).values("points")[:1]),
            referee_points=Subquery(reward.filter(user_id=OuterRef("referee_id")).values("points")[:1]),
            reward_taken_back=Exists(rows.filter(kind=LedgerEntry.Kind.REVERSE)),
            discount_amount=Subquery(discount.values("amount")[:1]),
            discount_currency=Subquery(discount.values("order__currency")[:1]),
            order_id=Subquery(Order.objects.filter(code=OuterRef("order_code")).values("pk")[:1]),
        )
        .order_by("-created", "-id")
    )
