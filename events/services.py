"""Writes of the catalogue: events with their genres, lineups and ticket types.

One function per use case, keyword-only, with the acting user (``actor``). Each one checks that the actor
may act for the event's organizer (``events.permissions``: owners and managers), validates, writes in one
transaction and records the actor in the history rows.

The live counters of a ticket type (``sold``, ``held``) are never written here: only the inventory
services move them, with conditional UPDATEs. Changing a ticket type locks its row first, so a capacity
can never drop below the seats sold or held by a concurrent buyer.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError, Q
from django.utils.text import slugify

from events.exceptions import (
    EventNotDeletable,
    EventPermissionDenied,
    EventStatusTransitionNotAllowed,
    TicketTypeCapacityBelowSold,
    TicketTypeHasSales,
    TicketTypeUnknown,
    VenueNotAllowed,
)
from events.models import Artist, Event, Genre, Lineup, Organizer, TicketType, Venue
from events.permissions import user_can_edit_event
from events.signals import event_cancelled, event_changed

if TYPE_CHECKING:
    from accounts.models import User

Status = Event.Status

# The statuses an event may be created in.
EVENT_CREATE_STATUSES: frozenset[str] = frozenset({Status.DRAFT, Status.PUBLISHED})
# Allowed status moves. Once public an event never goes back to draft (buyers may hold tickets); a
# cancelled event stays cancelled (refunds follow a cancellation).
EVENT_STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.PUBLISHED, Status.CANCELLED}),
    Status.PUBLISHED: frozenset({Status.POSTPONED, Status.CANCELLED}),
    Status.POSTPONED: frozenset({Status.PUBLISHED, Status.CANCELLED}),
    Status.CANCELLED: frozenset(),
}
# The event's own fields an update may change (organizer and slug never change: links keep working).
EVENT_UPDATE_FIELDS: tuple[str, ...] = (
    "venue",
    "title",
    "description",
    "starts_at",
    "ends_at",
    "doors_at",
    "timezone",
    "status",
    "age_limit",
    "refund_policy",
)
# What a write may set on a ticket type: never the counters.
TICKET_TYPE_WRITABLE_FIELDS: tuple[str, ...] = (
    "name",
    "description",
    "price",
    "fee",
    "currency",
    "capacity",
    "sales_start",
    "sales_end",
    "max_per_order",
)
_SLUG_MAX_LENGTH = 200
_SLUG_ATTEMPTS = 5


class LineupSlot(TypedDict):
    """One artist on the bill; ``position`` defaults to the slot's place in the list (1 first)."""

    artist: Artist
    position: NotRequired[int]
    is_headliner: NotRequired[bool]
    set_time: NotRequired[datetime | None]


class TicketTypeSpec(TypedDict):
    """A ticket type to create, or with ``id`` one of the event's ticket types to change."""

    id: NotRequired[int | None]
    name: str
    description: NotRequired[str]
    price: Decimal
    fee: NotRequired[Decimal]
    currency: NotRequired[str]
    capacity: int
    sales_start: NotRequired[datetime | None]
    sales_end: NotRequired[datetime | None]
    max_per_order: NotRequired[int]


class EventChanges(TypedDict, total=False):
    """What ``event_update`` changes: only the keys present. ``genres``, ``lineup`` and ``ticket_types``
    replace the whole collection."""

    venue: Venue
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime | None
    doors_at: datetime | None
    timezone: str
    status: str
    age_limit: int | None
    refund_policy: str
    genres: Iterable[Genre]
    lineup: Sequence[LineupSlot]
    ticket_types: Sequence[TicketTypeSpec]


# --- events -----------------------------------------------------------------------------------------------


@transaction.atomic
def event_create(
    *,
    actor: User,
    organizer: Organizer,
    venue: Venue,
    title: str,
    starts_at: datetime,
    timezone: str,
    ends_at: datetime | None = None,
    doors_at: datetime | None = None,
    description: str = "",
    status: str = Status.DRAFT,
    age_limit: int | None = None,
    refund_policy: str = "",
    genres: Iterable[Genre] = (),
    lineup: Sequence[LineupSlot] = (),
    ticket_types: Sequence[TicketTypeSpec] = (),
) -> Event:
    """A new event of ``organizer`` (draft or published), with a unique slug made from its title."""
    event = Event(
        organizer=organizer,
        venue=venue,
        title=title,
        description=description,
        starts_at=starts_at,
        ends_at=ends_at,
        doors_at=doors_at,
        timezone=timezone,
        status=status,
        age_limit=age_limit,
        refund_policy=refund_policy,
    )
    _ensure_actor_can_edit(actor=actor, event=event)
    if status not in EVENT_CREATE_STATUSES:
        raise ValidationError({"status": "A new event is either a draft or published."})
    _ensure_venue_allowed(event=event)
    _validate_event(event)
    event._history_user = actor  # type: ignore[attr-defined]
    _insert_with_unique_slug(event)
    event.genres.set(list(genres))
    _lineup_replace(event=event, lineup=lineup)
    _ticket_types_replace(event=event, specs=ticket_types, actor=actor)
    return event


@transaction.atomic
def event_update(*, actor: User, event: Event, changes: EventChanges) -> Event:
    """Change the event's own fields, and replace its genres, lineup or ticket types when given.

    Ticket types listed with an ``id`` are changed, those without one are created, and the event's
    visible ticket types left out are removed (only while nobody bought or holds one of their seats).
    Hidden ticket types are left alone: API clients never see them.
    """
    _ensure_actor_can_edit(actor=actor, event=event)
    event = Event.objects.select_for_update().get(pk=event.pk)
    before = copy.copy(event)
    updated: list[str] = []
    for field in EVENT_UPDATE_FIELDS:
        if field not in changes:
            continue
        value = changes[field]  # type: ignore[literal-required]
        if field == "status" and value != event.status:
            _ensure_status_transition(current=event.status, new=value)
        setattr(event, field, value)
        updated.append(field)
    if "venue" in changes:
        _ensure_venue_allowed(event=event)
    if updated:
        _validate_event(event)
        event._history_user = actor  # type: ignore[attr-defined]
        event.save(update_fields=[*updated, "modified"])
        event_changes_announce(before=before, event=event)
    if "genres" in changes:
        event.genres.set(list(changes["genres"]))
    if "lineup" in changes:
        _lineup_replace(event=event, lineup=changes["lineup"])
    if "ticket_types" in changes:
        _ticket_types_replace(event=event, specs=changes["ticket_types"], actor=actor)
    return event


@transaction.atomic
def event_delete(*, actor: User, event: Event) -> None:
    """Delete a draft that never sold a seat. Anything public is cancelled instead, never deleted."""
    _ensure_actor_can_edit(actor=actor, event=event)
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.status != Status.DRAFT:
        raise EventNotDeletable(
            f"Only draft events can be deleted and this one is {event.get_status_display().lower()}: "
            "cancel it instead.",
            extra={"status": event.status},
        )
    if TicketType.objects.filter(event=event).filter(Q(sold__gt=0) | Q(held__gt=0)).exists():
        raise EventNotDeletable("This event has seats sold or held: cancel it instead.")
    event._history_user = actor  # type: ignore[attr-defined]
    try:
        with transaction.atomic():
            event.delete()
    except ProtectedError as error:  # orders (or anything else) still point at it
        raise EventNotDeletable("This event has orders: cancel it instead.") from error


def event_changes_announce(*, before: Event, event: Event) -> dict[str, tuple[Any, Any]]:
    """Tell the apps above what ticket holders must hear about a saved change (``events.signals``):
    ``event_cancelled`` when a public event was cancelled; ``event_changed`` when its start, doors or venue
    moved, or it was postponed. ``before`` is the row as it was before the save. A draft has no ticket
    holders: nothing is sent. Call it inside the saving transaction (``event_update``, the admin's save):
    receivers write their rows with the change and send mail only once it commits. A new start or doors
    time also counts up ``schedule_version``. Returns the changes announced (empty for a cancellation or
    nothing to tell)."""
    if before.status == Status.DRAFT:
        return {}
    if event.status == Status.CANCELLED:
        if before.status != Status.CANCELLED:
            event_cancelled.send(sender=Event, event=event)
        return {}
    changes: dict[str, tuple[Any, Any]] = {}
    for field in ("starts_at", "doors_at"):
        old, new = getattr(before, field), getattr(event, field)
        if old != new:
            changes[field] = (old, new)
    if before.venue_id != event.venue_id:
        changes["venue"] = (before.venue, event.venue)
    if event.status == Status.POSTPONED and before.status != Status.POSTPONED:
        changes["status"] = (before.status, event.status)
    if "starts_at" in changes or "doors_at" in changes:
        # A new time: holders get a new reminder before it (notifications.services.reminders_send_due).
        Event.objects.filter(pk=event.pk).update(schedule_version=F("schedule_version") + 1)
        event.schedule_version += 1
    if changes:
        event_changed.send(sender=Event, event=event, changes=changes)
    return changes


# --- helpers ----------------------------------------------------------------------------------------------


def _ensure_actor_can_edit(*, actor: User, event: Event) -> None:
    if not user_can_edit_event(user=actor, event=event):
        raise EventPermissionDenied()


def _ensure_status_transition(*, current: str, new: str) -> None:
    if new not in EVENT_STATUS_TRANSITIONS.get(current, frozenset()):
        raise EventStatusTransitionNotAllowed(
            f"An event cannot go from {current} to {new}.", extra={"status": current, "requested": new}
        )


def _ensure_venue_allowed(*, event: Event) -> None:
    """The organizer's own venues and the shared ones (no organizer), never another organizer's."""
    if event.venue.organizer_id not in (None, event.organizer_id):
        raise VenueNotAllowed()


def _validate_event(event: Event) -> None:
    """Readable messages for the rules the database also enforces, then the model's own validation."""
    errors: dict[str, str] = {}
    if event.ends_at is not None and event.ends_at <= event.starts_at:
        errors["ends_at"] = "The event must end after it starts."
    if event.doors_at is not None and event.doors_at > event.starts_at:
        errors["doors_at"] = "Doors must open before the event starts."
    if errors:
        raise ValidationError(errors)
    # The slug is generated (and made unique) when the event is inserted.
    event.full_clean(exclude=["slug", "organizer", "venue"])


def _slug_base(title: str) -> str:
    return slugify(title)[:_SLUG_MAX_LENGTH].strip("-") or "event"


def _free_slug(base: str) -> str:
    taken = set(Event.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _insert_with_unique_slug(event: Event) -> None:
    """Insert the event under the first free slug made from its title (``night``, ``night-2``...).

    Two writers may pick the same free slug at once: the loser's insert fails on the unique index inside
    a savepoint, and it tries the next one.
    """
    base = _slug_base(event.title)
    for _ in range(_SLUG_ATTEMPTS):
        event.slug = _free_slug(base)
        try:
            with transaction.atomic():
                event.save(force_insert=True)
        except IntegrityError:
            if not Event.objects.filter(slug=event.slug).exists():
                raise
            event.pk = None
            continue
        return
    raise IntegrityError(f"No free slug for {base!r} after {_SLUG_ATTEMPTS} attempts.")


def _lineup_replace(*, event: Event, lineup: Sequence[LineupSlot]) -> None:
    artist_ids = [slot["artist"].pk for slot in lineup]
    if len(set(artist_ids)) != len(artist_ids):
        raise ValidationError({"lineup": "An artist can appear only once in a lineup."})
    # Row by row, not bulk: the cache and the search documents follow the model signals.
    for slot_row in Lineup.objects.filter(event=event):
        slot_row.delete()
    for index, slot in enumerate(lineup, start=1):
        Lineup.objects.create(
            event=event,
            artist=slot["artist"],
            position=slot.get("position", index),
            is_headliner=slot.get("is_headliner", False),
            set_time=slot.get("set_time"),
        )


def _ticket_types_replace(*, event: Event, specs: Sequence[TicketTypeSpec], actor: User) -> None:
    # Lock the event's ticket types in pk order: a buyer's hold waits until the new capacities commit,
    # and the sold/held counters read here cannot move under us.
    current = {
        ticket_type.pk: ticket_type
        for ticket_type in TicketType.objects.select_for_update().filter(event=event).order_by("pk")
    }
    listed_ids = [spec["id"] for spec in specs if spec.get("id") is not None]
    if len(set(listed_ids)) != len(listed_ids):
        raise ValidationError({"ticket_types": "A ticket type can be listed only once."})
    for ticket_type_id in listed_ids:
        if ticket_type_id not in current:
            raise TicketTypeUnknown(extra={"ticket_type": ticket_type_id})

    removed = [tt for pk, tt in current.items() if pk not in listed_ids and tt.is_visible]
    for ticket_type in removed:
        if ticket_type.sold or ticket_type.held:
            raise TicketTypeHasSales(
                extra={"ticket_type": ticket_type.pk, "sold": ticket_type.sold, "held": ticket_type.held}
            )
        ticket_type._history_user = actor  # type: ignore[attr-defined]
        try:
            with transaction.atomic():
                ticket_type.delete()
        except ProtectedError as error:
            raise TicketTypeHasSales(extra={"ticket_type": ticket_type.pk}) from error

    for index, spec in enumerate(specs):
        ticket_type_id = spec.get("id")
        if ticket_type_id is None:
            ticket_type = TicketType(event=event)
        else:
            ticket_type = current[ticket_type_id]
            taken = ticket_type.sold + ticket_type.held
            if spec["capacity"] < taken:
                raise TicketTypeCapacityBelowSold(
                    f"{ticket_type.name}: {ticket_type.sold} sold and {ticket_type.held} held, so the "
                    f"capacity cannot go below {taken}.",
                    extra={
                        "ticket_type": ticket_type.pk,
                        "sold": ticket_type.sold,
                        "held": ticket_type.held,
                        "field": f"ticket_types.{index}.capacity",
                    },
                )
        for field in TICKET_TYPE_WRITABLE_FIELDS:
            if field in spec:
                setattr(ticket_type, field, spec[field])  # type: ignore[literal-required]
        ticket_type.position = index
        _validate_ticket_type(ticket_type, index=index)
        ticket_type._history_user = actor  # type: ignore[attr-defined]
        if ticket_type.pk is None:
            ticket_type.save(force_insert=True)
        else:
            ticket_type.save(update_fields=[*TICKET_TYPE_WRITABLE_FIELDS, "position", "modified"])
    # The list's price and its currency, an order's total: an event sells in one currency.
    if TicketType.objects.filter(event=event).values("currency").distinct().count() > 1:
        raise ValidationError({"ticket_types": "All ticket types of an event are sold in one currency."})


def _validate_ticket_type(ticket_type: TicketType, *, index: int) -> None:
    prefix = f"ticket_types.{index}"
    if (
        ticket_type.sales_start is not None
        and ticket_type.sales_end is not None
        and ticket_type.sales_end <= ticket_type.sales_start
    ):
        raise ValidationError({f"{prefix}.sales_end": "Sales must end after they start."})
    try:
        ticket_type.full_clean(exclude=["event", "sold", "held"])
    except ValidationError as error:
        raise ValidationError(_prefixed(error, prefix)) from error


def _prefixed(error: ValidationError, prefix: str) -> dict[str, Any]:
    if not hasattr(error, "error_dict"):
        return {prefix: error.messages}
    return {
        prefix if field == "__all__" else f"{prefix}.{field}": messages
        for field, messages in error.message_dict.items()
    }
