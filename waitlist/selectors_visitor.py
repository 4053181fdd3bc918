"""Reads for the waitlist's visitor-facing surfaces (the event page's waitlist block, the join view, the
API): which ticket type someone may join, the entries a visitor may see, their live offers.

A visitor sees only their own entries: a signed-in user's (by account), a guest's by the entry ids their
browser joined or confirmed (remembered in the session, ``waitlist.pages``), never by an email address
typed into a form (anybody can type anybody's address).
"""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import Q

from accounts.models import User
from events.exceptions import TicketTypeUnknown
from events.models import Event, TicketType
from waitlist.exceptions import EntryNotFound
from waitlist.models import ACTIVE_STATUSES, WaitlistEntry, WaitlistOffer
from waitlist.selectors import _with_rank


def ticket_type_get_for_waitlist(*, ticket_type_id: int) -> TicketType:
    """A visible ticket type of a public event (not a draft), with its event; ``ticket_type_unknown``
    otherwise (whether it is on sale is the join service's answer)."""
    ticket_type = (
        TicketType.objects.select_related("event")
        .filter(pk=ticket_type_id, is_visible=True)
        .exclude(event__status=Event.Status.DRAFT)
        .first()
    )
    if ticket_type is None:
        raise TicketTypeUnknown("Unknown ticket type.", extra={"ticket_type_id": ticket_type_id})
    return ticket_type


def entry_list_for_visitor(
    *, ticket_type_ids: Collection[int], user: User | None, entry_ids: Collection[int] = ()
) -> list[WaitlistEntry]:
    """The visitor's active entries (unverified, waiting, offered) for these ticket types, each with
    ``rank`` and ``lottery_pending``: the signed-in ``user``'s and the guest entries ``entry_ids`` (the
    browser's). One query (none when there is nobody to look for)."""
    if not ticket_type_ids:
        return []
    who = _visitor(user=user, entry_ids=entry_ids)
    if who is None:
        return []
    return list(
        _with_rank(
            WaitlistEntry.objects.filter(
                who, ticket_type_id__in=list(ticket_type_ids), status__in=ACTIVE_STATUSES
            )
        ).order_by("ticket_type_id", "id")
    )


def entry_get_for_visitor(
    *, entry_id: int, user: User | None, entry_ids: Collection[int] = ()
) -> WaitlistEntry:
    """One of the visitor's entries (any status), with ``rank``, its ticket type and event;
    ``waitlist_entry_not_found`` for anybody else's (never revealing that it exists)."""
    who = _visitor(user=user, entry_ids=entry_ids)
    entry = (
        _with_rank(WaitlistEntry.objects.filter(who, pk=entry_id))
        .select_related("ticket_type__event")
        .first()
        if who is not None
        else None
    )
    if entry is None:
        raise EntryNotFound()
    return entry


def _visitor(*, user: User | None, entry_ids: Collection[int]) -> Q | None:
    """The signed-in user's entries and the guest entries this browser joined or confirmed (a guest who
    signs in keeps seeing what they joined before)."""
    guest = Q(pk__in=list(entry_ids), user__isnull=True) if entry_ids else None
    if user is None:
        return guest
    return Q(user=user) | guest if guest is not None else Q(user=user)


def offer_live_by_entry(*, entries: Collection[WaitlistEntry]) -> dict[int, WaitlistOffer]:
    """The live offer (with its order) of each of these entries that has one, by entry id. One query, none
    when no entry is offered."""
    offered = [entry.pk for entry in entries if entry.status == WaitlistEntry.Status.OFFERED]
    if not offered:
        return {}
    live = WaitlistOffer.objects.filter(
        entry_id__in=offered, status=WaitlistOffer.Status.LIVE
    ).select_related("order")
    return {offer.entry_id: offer for offer in live}
