"""The kinds of message we send: for each, what the email and the inbox entry say, where they point, why
the recipient gets it, and whether it is marketing (which a user may switch off; transactional mail
cannot be).

Adding a kind (loyalty tier newsletters, referral rewards, waitlist offers...) takes three things:

1. a ``register(Kind(...))`` entry below: its key, subject, inbox title and body, the loader that turns the
   ids stored on the outbox row into the template context, its link, and ``marketing=True`` for news and
   offers (then the email is only sent to users who have not opted out, with an unsubscribe link);
2. two templates, ``notifications/templates/notifications/email/<template>.html`` and ``.txt``, each
   extending the layout (``base.html`` / ``base.txt``); or the generic ``message`` template, which shows
   ``headline``, ``text`` and an optional ``action_url``/``action_label`` from the stored context;
3. a receiver in ``notifications/receivers.py`` that calls ``notifications.services.notify(kind=...,
   reference=..., user=..., email=..., context={...ids...})`` when the fact happens (inside its transaction).

The context stored on a message holds ids and small JSON values only, never rendered text: an email is
rendered when it is sent, from the rows as they are then (a ticket voided since shows as void).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from django.utils import dateformat, translation

from events.models import Event
from events.templatetags.catalogue import money
from loyalty import tiers
from loyalty.models import ExpiryNotice, LedgerEntry, Referral
from loyalty.selectors_referrals import referral_display_name
from notifications import links
from orders.holds import order_hold_extension_refused
from orders.models import Adjustment, Order, Payment, Refund, Ticket
from orders.selectors import order_rows_in_memory
from waitlist import signing as waitlist_signing
from waitlist.models import WaitlistEntry, WaitlistOffer
from waitlist.selectors import entry_rank

Context = dict[str, Any]

# The footer line that says why a message arrives.
REASON_ORDER = (
    "You get this email because you ordered tickets on Grasshopper. Emails about your orders cannot be "
    "switched off."
)
REASON_HOLDER = (
    "You get this email because you hold tickets for this event. Emails about your tickets cannot be "
    "switched off."
)
REASON_MARKETING = "You get this email because you asked for news from Grasshopper."


@dataclass(frozen=True)
class Kind:
    """One kind of message. ``subject``, ``title`` and ``body`` are built from the loaded context;
    ``link(context, absolute)`` is where it points (absolute, and signed for a guest's order, in an
    email; site-relative in the inbox)."""

    key: str
    template: str
    subject: Callable[[Context], str]
    title: Callable[[Context], str]
    body: Callable[[Context], str]
    load: Callable[[dict[str, Any]], Context]
    link: Callable[[Context, bool], str]
    reason: str = REASON_ORDER
    marketing: bool = False
    # The order confirmation: QR codes inline, the tickets' PDF and an .ics attached.
    attach_tickets: bool = False


REGISTRY: dict[str, Kind] = {}


class UnknownKind(LookupError):
    pass


def register(kind: Kind) -> Kind:
    """Add (or, in tests, replace) a kind."""
    REGISTRY[kind.key] = kind
    return kind


def unregister(key: str) -> None:
    REGISTRY.pop(key, None)


def get(key: str) -> Kind:
    try:
        return REGISTRY[key]
    except KeyError:
        raise UnknownKind(key) from None


# --- formatting -------------------------------------------------------------------------------------------


def when(event: Event, moment: datetime | None = None) -> str:
    """ "Saturday 12 July 2026, 20:00" in the event's time zone (its start by default)."""
    return _format(moment or event.starts_at, event.timezone, "l j F Y, H:i")


def short_when(event: Event, moment: datetime | None = None) -> str:
    """ "Sat 12 Jul, 20:00" in the event's time zone."""
    return _format(moment or event.starts_at, event.timezone, "D j M, H:i")


def clock(event: Event, moment: datetime) -> str:
    return _format(moment, event.timezone, "H:i")


def _format(moment: datetime, zone: str, pattern: str) -> str:
    return _formatted(moment, zone, pattern, translation.get_language())


@lru_cache(maxsize=4096)
def _formatted(moment: datetime, zone: str, pattern: str, language: str | None) -> str:
    """``moment`` in ``zone`` (the event's own time zone: what buyers see everywhere), formatted.

    Kept: an on-sale rush formats the same event start for every order's confirmation (its inbox entry),
    which cost ~3 % of a free order. The words (weekday, month) come from the active language, so it is
    part of the key; a moment is one instant whatever its zone."""
    return dateformat.format(moment.astimezone(ZoneInfo(zone)), pattern)


# --- loaders: stored ids -> template context --------------------------------------------------------------


def load_order(stored: dict[str, Any]) -> Context:
    """The order with its event, venue, lines and its tickets that still admit someone."""
    order = Order.objects.select_related("event__venue", "buyer").get(pk=stored["order_id"])
    tickets = list(
        order.tickets.exclude(status=Ticket.Status.VOID).select_related("ticket_type").order_by("id")
    )
    return {
        "order": order,
        "event": order.event,
        "venue": order.event.venue,
        "lines": list(order.lines.select_related("ticket_type").order_by("id")),
        "tickets": tickets,
    }


def order_context_in_memory(order: Order) -> Context | None:
    """``load_order``'s context built from an order whose lines and tickets are in memory (a new order), so
    its inbox entry costs no query beyond the venue; None when they are not (then the loader reads them)."""
    rows = order_rows_in_memory(order=order)
    if rows is None:
        return None
    lines, tickets = rows
    return {
        "order": order,
        "event": order.event,
        "venue": order.event.venue,
        "lines": lines,  # in id order, like the loader's
        "tickets": [ticket for ticket in tickets if ticket.status != Ticket.Status.VOID],
    }


def load_order_hold(stored: dict[str, Any]) -> Context:
    """``load_order`` and whether the buyer may still extend the hold (once, and not past a limit such as
    a waitlist offer's end: ``orders.holds``)."""
    context = load_order(stored)
    order = context["order"]
    context["extendable"] = not order.hold_extended and order_hold_extension_refused(order=order) is None
    return context


def load_payment(stored: dict[str, Any]) -> Context:
    context = load_order(stored)
    context["payment"] = Payment.objects.get(pk=stored["payment_id"], order=context["order"])
    return context


def load_refund(stored: dict[str, Any]) -> Context:
    context = load_order(stored)
    context["refund"] = Refund.objects.get(pk=stored["refund_id"], order=context["order"])
    return context


def load_change(stored: dict[str, Any]) -> Context:
    """The order, and what changed (``changes``: field -> old/new; times as aware datetimes)."""
    context = load_order(stored)
    changes: dict[str, dict[str, Any]] = {}
    for field, (old, new) in (stored.get("changes") or {}).items():
        if field in ("starts_at", "doors_at"):
            old = datetime.fromisoformat(old) if old else None
            new = datetime.fromisoformat(new) if new else None
        changes[field] = {"old": old, "new": new}
    context["changes"] = changes
    return context


def load_reminder(stored: dict[str, Any]) -> Context:
    """The order, and ``doors``: when doors open (the start, for an event without a doors time)."""
    context = load_order(stored)
    context["doors"] = context["event"].doors_at or context["event"].starts_at
    return context


def load_message(stored: dict[str, Any]) -> Context:
    """The generic template: ``headline``, ``text``, optional ``action_url`` and ``action_label``."""
    return dict(stored)


# --- links ------------------------------------------------------------------------------------------------


def order_page(page: str = "confirmation") -> Callable[[Context, bool], str]:
    def link(context: Context, absolute: bool) -> str:
        order = context["order"]
        return links.order_url(order, page=page) if absolute else links.order_path(order, page=page)

    return link


def event_page(context: Context, absolute: bool) -> str:
    event = context["event"]
    return links.event_url(event) if absolute else links.event_path(event)


def message_link(context: Context, absolute: bool) -> str:
    return str(context.get("action_url", ""))


def _tickets(context: Context) -> str:
    count = len(context["tickets"])
    return f"{count} ticket{'s' if count != 1 else ''}"


def _change_summary(context: Context) -> str:
    event, changes = context["event"], context["changes"]
    parts = []
    if "status" in changes:
        parts.append("postponed, new date to follow")
    if "starts_at" in changes and changes["starts_at"]["new"]:
        parts.append(f"now starts {when(event, changes['starts_at']['new'])}")
    if "doors_at" in changes and changes["doors_at"]["new"]:
        parts.append(f"doors now open at {clock(event, changes['doors_at']['new'])}")
    if "venue" in changes:
        parts.append(f"moved to {changes['venue']['new']}")
    return "; ".join(parts) or "details changed"


# --- the kinds --------------------------------------------------------------------------------------------

ORDER_CONFIRMED = register(
    Kind(
        key="order_confirmed",
        template="order_confirmed",
        subject=lambda c: f"Your tickets for {c['event'].title}, {short_when(c['event'])}",
        title=lambda c: f"Your tickets for {c['event'].title}",
        body=lambda c: f"Order {c['order'].code}: {_tickets(c)} for {when(c['event'])} at {c['venue'].name}.",
        load=load_order,
        link=order_page(),
        attach_tickets=True,
    )
)
PAYMENT_FAILED = register(
    Kind(
        key="payment_failed",
        template="payment_failed",
        subject=lambda c: f"Your payment for {c['event'].title} did not go through",
        title=lambda c: "Payment failed",
        body=lambda c: (
            f"Your payment for order {c['order'].code} ({c['event'].title}) was declined. "
            "Your seats are still held: you can try again."
        ),
        load=load_payment,
        link=order_page("checkout"),
    )
)
HOLD_EXPIRING = register(
    Kind(
        key="hold_expiring",
        template="hold_expiring",
        subject=lambda c: (
            f"Your seats for {c['event'].title} are held until {clock(c['event'], c['order'].expires_at)}"
        ),
        title=lambda c: "Your hold ends soon",
        body=lambda c: (
            f"Order {c['order'].code}: pay before {clock(c['event'], c['order'].expires_at)} "
            f"or the seats for {c['event'].title} go back on sale."
        ),
        load=load_order_hold,
        link=order_page("checkout"),
    )
)
ORDER_EXPIRED = register(
    Kind(
        key="order_expired",
        template="order_expired",
        subject=lambda c: f"Your hold for {c['event'].title} has ended",
        title=lambda c: "Your hold has ended",
        body=lambda c: f"Order {c['order'].code} was not paid in time; the seats went back on sale.",
        load=load_order,
        link=event_page,
    )
)
REFUND_ISSUED = register(
    Kind(
        key="refund_issued",
        template="refund_issued",
        subject=lambda c: (
            f"Refund of {money(c['refund'].amount, c['refund'].currency)} for order {c['order'].code}"
        ),
        title=lambda c: "Refund issued",
        body=lambda c: (
            f"{money(c['refund'].amount, c['refund'].currency)} for order {c['order'].code} "
            f"({c['event'].title}) is on its way back to you."
        ),
        load=load_refund,
        link=order_page(),
    )
)
REFUND_FAILED = register(
    Kind(
        key="refund_failed",
        template="refund_failed",
        subject=lambda c: (
            f"Your refund of {money(c['refund'].amount, c['refund'].currency)} for order {c['order'].code} "
            "did not go through"
        ),
        title=lambda c: "Your refund did not go through",
        body=lambda c: (
            f"{money(c['refund'].amount, c['refund'].currency)} for order {c['order'].code} "
            f"({c['event'].title}) could not be paid back to your card. Our team has been told and will pay "
            "you another way: you do not need to do anything."
        ),
        load=load_refund,
        link=order_page(),
    )
)
ORDER_UNFULFILLABLE = register(
    Kind(
        key="order_unfulfillable",
        template="order_unfulfillable",
        subject=lambda c: f"We could not issue your tickets for {c['event'].title}",
        title=lambda c: "Your payment arrived after the seats were gone",
        body=lambda c: (
            f"Order {c['order'].code}: your payment came after your hold ended and the seats were sold. "
            + _unfulfillable_next(c)
        ),
        load=load_order,
        link=order_page(),
    )
)


def _unfulfillable_next(context: Context) -> str:
    """What happens to the money: refunded at once, or staff decide (they may still find seats)."""
    if getattr(context["event"], "late_payment_policy", "auto_refund") == "staff_queue":
        return "Our team will contact you: they may still find you seats, or refund you in full."
    return "Your money is being refunded in full to the card you paid with."


EVENT_CHANGED = register(
    Kind(
        key="event_changed",
        template="event_changed",
        subject=lambda c: f"Change to {c['event'].title}: {_change_summary(c)}",
        title=lambda c: f"{c['event'].title} has changed",
        body=lambda c: f"{c['event'].title}: {_change_summary(c)}. Your tickets stay valid.",
        load=load_change,
        link=order_page(),
        reason=REASON_HOLDER,
    )
)
EVENT_CANCELLED = register(
    Kind(
        key="event_cancelled",
        template="event_cancelled",
        subject=lambda c: f"Cancelled: {c['event'].title} on {short_when(c['event'])}",
        title=lambda c: f"{c['event'].title} is cancelled",
        body=lambda c: (
            f"{c['event'].title} on {when(c['event'])} will not take place. "
            f"Order {c['order'].code} will be refunded to the card you paid with."
        ),
        load=load_order,
        link=order_page(),
        reason=REASON_HOLDER,
    )
)
EVENT_REMINDER = register(
    Kind(
        key="event_reminder",
        template="event_reminder",
        subject=lambda c: f"Soon: {c['event'].title}, doors {short_when(c['event'], c['doors'])}",
        title=lambda c: f"{c['event'].title} is coming up",
        body=lambda c: (
            f"Doors open {when(c['event'], c['doors'])} at {c['venue'].name}. Have your {_tickets(c)} ready."
        ),
        load=load_reminder,
        link=order_page(),
        reason=REASON_HOLDER,
    )
)


# --- Referrals (loyalty.services_referrals: both sides of a rewarded referral are told) ------------------

REASON_REFERRAL = (
    "You get this email because you took part in Grasshopper's invite-a-friend rewards. Emails about your "
    "points cannot be switched off."
)


def load_referral(stored: dict[str, Any]) -> Context:
    """The referral; ``side`` ("referrer" or "referee": who this message is for); ``friend``: how the other
    side is named; ``points``: what the recipient's ledger got for it (0 when none); ``discount``: the
    referee's welcome discount on the first order (reward "discount"), or None."""
    referral = Referral.objects.select_related("referrer", "referee").get(pk=stored["referral_id"])
    side = stored["side"]
    me, other = (
        (referral.referrer, referral.referee) if side == "referrer" else (referral.referee, referral.referrer)
    )
    source = f"referral:{referral.pk}"
    entry = LedgerEntry.objects.filter(user=me, kind=LedgerEntry.Kind.REFERRAL, source=source).first()
    discount = (
        Adjustment.objects.filter(source="referral", reference=source, order__code=referral.order_code)
        .select_related("order")
        .first()
        if side == "referee"
        else None
    )
    return {
        "referral": referral,
        "side": side,
        "friend": referral_display_name(other),
        "points": entry.points if entry is not None else 0,
        "discount": discount,
    }


def loyalty_page(context: Context, absolute: bool) -> str:
    path = reverse("loyalty:account") + ("#referrals" if context.get("side") == "referrer" else "")
    return links.absolute(path) if absolute else path


def _referral_subject(c: Context) -> str:
    if c["side"] == "referrer":
        return f"You earned {c['points']} points: {c['friend']} joined Grasshopper"
    if c["points"]:
        return f"Your welcome reward: {c['points']} points"
    return "Welcome to Grasshopper: your first order's discount"


def _referral_title(c: Context) -> str:
    if c["side"] == "referrer":
        return f"{c['points']} points for inviting {c['friend']}"
    return f"Welcome reward: {c['points']} points" if c["points"] else "Your welcome discount"


def _referral_body(c: Context) -> str:
    if c["side"] == "referrer":
        return (
            f"{c['friend']} signed up with your invitation and their first order is paid: "
            f"{c['points']} points are in your balance."
        )
    if c["points"]:
        return (
            f"Thanks for joining through {c['friend']}'s invitation: {c['points']} points for your first "
            "order are in your balance."
        )
    discount = c["discount"]
    off = (
        f" had {money(discount.amount, discount.order.currency)} off" if discount is not None else " is paid"
    )
    return f"Thanks for joining through {c['friend']}'s invitation: your first order{off}."


REFERRAL_REWARDED = register(
    Kind(
        key="referral_rewarded",
        template="referral_rewarded",
        subject=_referral_subject,
        title=_referral_title,
        body=_referral_body,
        load=load_referral,
        link=loyalty_page,
        reason=REASON_REFERRAL,
    )
)


# --- Loyalty tiers (loyalty.signals.tier_changed: up or down, from the points earned in 12 months) --------

REASON_LOYALTY = (
    "You get this email because you collect Grasshopper loyalty points. Emails about your points cannot be "
    "switched off."
)


def load_tier_change(stored: dict[str, Any]) -> Context:
    """``old`` and ``new`` tier keys -> the generic message template's ``headline``, ``text`` and action."""
    old, new = stored["old"], stored["new"]
    label, before = tiers.LABELS[new], tiers.LABELS[old]
    up = tiers.TIERS.index(new) > tiers.TIERS.index(old)
    rate = f"{tiers.multiplier(new):g}"
    if up:
        text = (
            f"Your points from the last 12 months take you from {before} to {label}: from now on every paid "
            f"order earns \u00d7{rate} points."
        )
    else:
        text = (
            f"The points you earned in the last 12 months no longer reach {before}, so your tier is now "
            f"{label}: paid orders earn \u00d7{rate} points. Every order brings you back up."
        )
    return {
        "old": old,
        "new": new,
        "up": up,
        "headline": f"You are now {label}" if up else f"Your tier is now {label}",
        "text": text,
        "action_url": links.absolute(reverse("loyalty:account")),
        "action_label": "See your points",
    }


LOYALTY_TIER_CHANGED = register(
    Kind(
        key="loyalty_tier_changed",
        template="message",
        subject=lambda c: f"{c['headline']} on Grasshopper",
        title=lambda c: c["headline"],
        body=lambda c: c["text"],
        load=load_tier_change,
        link=loyalty_page,
        reason=REASON_LOYALTY,
    )
)


# --- Points expiring soon (loyalty.signals.points_expiring: once per batch, some days ahead) ---------------


def load_points_expiring(stored: dict[str, Any]) -> Context:
    """The notice: ``points`` (unspent when it was sent) that expire on ``expires_on`` ("3 March 2027", the
    site's time zone, as on the account page); ``headline``: "120 points expire on 3 March 2027"."""
    notice = ExpiryNotice.objects.get(pk=stored["notice_id"])
    points, day = notice.points, dateformat.format(notice.expires_on, "j F Y")
    verb = "expires" if points == 1 else "expire"
    return {
        "notice": notice,
        "points": points,
        "expires_on": day,
        "headline": f"{points} point{'s' if points != 1 else ''} {verb} on {day}",
        "validity_months": settings.LOYALTY_POINTS_EXPIRE_MONTHS,
    }


LOYALTY_POINTS_EXPIRING = register(
    Kind(
        key="loyalty_points_expiring",
        template="points_expiring",
        subject=lambda c: c["headline"],
        title=lambda c: c["headline"],
        body=lambda c: f"{c['headline']}: use them at checkout before then.",
        load=load_points_expiring,
        link=loyalty_page,
        reason=REASON_LOYALTY,
    )
)


# --- Waitlist (waitlist.signals: joined / a guest's confirmation link, an offer of freed seats, it lapsed) --

REASON_WAITLIST = (
    "You get this email because you joined a waitlist on Grasshopper. Emails about your place in line "
    "cannot be switched off: leave the waitlist to stop them."
)


def waitlist_entry_url(entry: WaitlistEntry, *, purpose: str) -> str:
    """A guest's signed link (absolute): confirm the place (``VERIFY``) or leave the line (``LEAVE``)."""
    name = "waitlist:verify" if purpose == waitlist_signing.VERIFY else "waitlist:leave_by_token"
    token = waitlist_signing.entry_token_make(entry=entry, purpose=purpose)
    return links.absolute(reverse(name, kwargs={"token": token}))


def _waitlist_leave_url(entry: WaitlistEntry) -> str:
    """How to leave: a guest's signed link, or a signed-in user's waitlists page."""
    if entry.user_id is None:
        return waitlist_entry_url(entry, purpose=waitlist_signing.LEAVE)
    return links.absolute(reverse("waitlist:mine"))


def load_waitlist_entry(stored: dict[str, Any]) -> Context:
    """The entry, its ticket type, event and venue; ``guest`` (no account: confirm by link), ``rank`` (its
    place in line now, or None) and ``leave_url``."""
    entry = WaitlistEntry.objects.select_related("ticket_type__event__venue").get(pk=stored["entry_id"])
    event = entry.ticket_type.event
    return {
        "entry": entry,
        "ticket_type": entry.ticket_type,
        "event": event,
        "venue": event.venue,
        "guest": entry.user_id is None,
        "rank": entry_rank(entry=entry),
        "leave_url": _waitlist_leave_url(entry),
    }


def load_waitlist_offer(stored: dict[str, Any]) -> Context:
    """The offer's order (as ``load_order``), the offer, its entry and ticket type, ``leave_url``."""
    context = load_order(stored)
    offer = WaitlistOffer.objects.select_related("entry", "ticket_type").get(pk=stored["offer_id"])
    context.update(
        offer=offer,
        entry=offer.entry,
        ticket_type=offer.ticket_type,
        guest=offer.entry.user_id is None,
        leave_url=_waitlist_leave_url(offer.entry),
    )
    return context


def waitlist_joined_page(context: Context, absolute: bool) -> str:
    """A guest's confirmation link; a signed-in user's waitlists page."""
    if context["guest"]:
        return waitlist_entry_url(context["entry"], purpose=waitlist_signing.VERIFY)
    path = reverse("waitlist:mine")
    return links.absolute(path) if absolute else path


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _wanted(c: Context) -> str:
    return f"{c['entry'].quantity} \u00d7 {c['ticket_type'].name}"


def _joined_body(c: Context) -> str:
    if c["guest"]:
        return f"Confirm your email to take your place in line for {_wanted(c)} ({c['event'].title})."
    place = f"you are {_ordinal(c['rank'])} in line" if c["rank"] else "you are in line"
    return f"{_wanted(c)} for {c['event'].title}: {place}. We tell you as soon as tickets come back for you."


WAITLIST_JOINED = register(
    Kind(
        key="waitlist_joined",
        template="waitlist_joined",
        subject=lambda c: (
            f"Confirm your place on the waitlist for {c['event'].title}"
            if c["guest"]
            else f"You are on the waitlist for {c['event'].title}"
        ),
        title=lambda c: f"You are on the waitlist for {c['event'].title}",
        body=_joined_body,
        load=load_waitlist_entry,
        link=waitlist_joined_page,
        reason=REASON_WAITLIST,
    )
)
WAITLIST_OFFER = register(
    Kind(
        key="waitlist_offer",
        template="waitlist_offer",
        subject=lambda c: (
            f"Tickets for {c['event'].title} are held for you until "
            f"{short_when(c['event'], c['offer'].expires_at)}"
        ),
        title=lambda c: f"Tickets for {c['event'].title} are held for you",
        body=lambda c: (
            f"From the waitlist: {c['offer'].quantity} \u00d7 {c['ticket_type'].name}, held for you until "
            f"{when(c['event'], c['offer'].expires_at)} (event time). Pay before then, or they go to the "
            "next person in line."
        ),
        load=load_waitlist_offer,
        link=order_page("checkout"),
        reason=REASON_WAITLIST,
    )
)
WAITLIST_OFFER_LAPSED = register(
    Kind(
        key="waitlist_offer_lapsed",
        template="waitlist_offer_lapsed",
        subject=lambda c: f"Your waitlist offer for {c['event'].title} has lapsed",
        title=lambda c: "Your waitlist offer has lapsed",
        body=lambda c: (
            f"The tickets held for you ({c['offer'].quantity} \u00d7 {c['ticket_type'].name}, order "
            f"{c['order'].code}) were not paid in time and went to the next person in line."
        ),
        load=load_waitlist_offer,
        link=event_page,
        reason=REASON_WAITLIST,
    )
)


def load_waitlist_closed(stored: dict[str, Any]) -> Context:
    """The closed entry, its ticket type, event and venue, and ``offer``: the offer withdrawn with it (its
    order was cancelled), or None."""
    entry = WaitlistEntry.objects.select_related("ticket_type__event__venue").get(pk=stored["entry_id"])
    event = entry.ticket_type.event
    offer = (
        WaitlistOffer.objects.filter(entry=entry, status=WaitlistOffer.Status.WITHDRAWN)
        .select_related("order")
        .first()
    )
    return {
        "entry": entry,
        "ticket_type": entry.ticket_type,
        "event": event,
        "venue": event.venue,
        "offer": offer,
    }


def _closed_body(c: Context) -> str:
    held = (
        f" The tickets held for you (order {c['offer'].order.code}) were released; nothing was charged."
        if c["offer"] is not None
        else ""
    )
    return (
        f"{c['event'].title} on {when(c['event'])} is cancelled, so its waitlist is closed: you are no "
        f"longer in line for {_wanted(c)}.{held}"
    )


WAITLIST_CLOSED = register(
    Kind(
        key="waitlist_closed",
        template="waitlist_closed",
        subject=lambda c: f"Cancelled: {c['event'].title} on {short_when(c['event'])}, waitlist closed",
        title=lambda c: f"{c['event'].title} is cancelled: waitlist closed",
        body=_closed_body,
        load=load_waitlist_closed,
        link=event_page,
        reason=REASON_WAITLIST,
    )
)
