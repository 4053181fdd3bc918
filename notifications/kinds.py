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
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import dateformat

from events.models import Event
from events.templatetags.catalogue import money
from notifications import links
from orders.models import Order, Payment, Refund, Ticket

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


def local(event: Event, moment: datetime) -> datetime:
    """``moment`` in the event's own time zone (what buyers see everywhere)."""
    return moment.astimezone(ZoneInfo(event.timezone))


def when(event: Event, moment: datetime | None = None) -> str:
    """ "Saturday 12 July 2026, 20:00" in the event's time zone (its start by default)."""
    return dateformat.format(local(event, moment or event.starts_at), "l j F Y, H:i")


def short_when(event: Event, moment: datetime | None = None) -> str:
    """ "Sat 12 Jul, 20:00" in the event's time zone."""
    return dateformat.format(local(event, moment or event.starts_at), "D j M, H:i")


def clock(event: Event, moment: datetime) -> str:
    return dateformat.format(local(event, moment), "H:i")


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
        load=load_order,
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
