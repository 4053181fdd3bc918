"""Who may act for which organizer, and with what role: the one rule behind the admin and the organizer API.

Roles (``OrganizerMember.Role``):

- **owner**: everything a manager may do, plus the organizer's own details;
- **manager**: the organizer's events with their lineups and ticket types, and the organizer's venues;
- **box office**: sees the organizer's events (and, later, orders); changes nothing in the catalogue.

Active superusers act for every organizer. Everybody else acts only through their memberships; an
inactive or anonymous user acts for nobody. Venues belong to the organizer whose staff created them
(``Venue.organizer``); venues without an organizer are kept by Grasshopper staff and every organizer may
hold events there, but only superusers change them. Artists and genres are a shared catalogue: organizer
staff may add artists (for their lineups), only superusers change or delete them.

The membership rows are read once per user object (one query) and kept on it, because one admin page asks
these questions dozens of times; ``request.user`` lives for one request, so nothing outlives a request.
Code that changes memberships and then asks again about the same user object calls
:func:`forget_cached_roles`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet

from events.models import Event, Organizer, OrganizerMember, TicketType, Venue

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

    AnyUser = User | AnonymousUser

Role = OrganizerMember.Role

# Roles that may change the organizer's catalogue (events, lineups, ticket types, venues).
EDIT_ROLES: frozenset[str] = frozenset({Role.OWNER, Role.MANAGER})
# Every role: may see the organizer's events.
ALL_ROLES: frozenset[str] = frozenset(Role.values)
# Roles that may change the organizer's own details (name, contact, website).
OWNER_ROLES: frozenset[str] = frozenset({Role.OWNER})

_CACHE_ATTRIBUTE = "_events_organizer_roles"


def _roles_by_organizer(user: AnyUser) -> dict[int, str]:
    """{organizer id: role} of the user's memberships; empty for anonymous or inactive users."""
    if not user.is_authenticated or not user.is_active:
        return {}
    cached: dict[int, str] | None = getattr(user, _CACHE_ATTRIBUTE, None)
    if cached is None:
        cached = dict(OrganizerMember.objects.filter(user_id=user.pk).values_list("organizer_id", "role"))
        setattr(user, _CACHE_ATTRIBUTE, cached)
    return cached


def forget_cached_roles(*, user: Any) -> None:
    """Drop the memberships remembered on this user object (after they changed)."""
    if hasattr(user, _CACHE_ATTRIBUTE):
        delattr(user, _CACHE_ATTRIBUTE)


def user_acts_for_all_organizers(*, user: AnyUser) -> bool:
    """Active superusers: Grasshopper's own staff, who see and change every organizer's catalogue."""
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def organizer_ids_for_user(*, user: AnyUser, roles: Iterable[str] | None = None) -> set[int]:
    """The organizers this user may act for with one of ``roles`` (any role when ``None``).

    For a superuser that is every organizer (one query); prefer the ``*_for_user`` queryset helpers
    below, which filter in the database and skip that query for superusers.
    """
    if user_acts_for_all_organizers(user=user):
        return set(Organizer.objects.values_list("pk", flat=True))
    wanted = ALL_ROLES if roles is None else frozenset(roles)
    return {organizer_id for organizer_id, role in _roles_by_organizer(user).items() if role in wanted}


def user_role_for_organizer(*, user: AnyUser, organizer_id: int) -> str | None:
    """The user's role at this organizer; ``None`` when not a member (superusers included)."""
    return _roles_by_organizer(user).get(organizer_id)


def _has_role(user: AnyUser, organizer_id: int | None, roles: frozenset[str]) -> bool:
    if user_acts_for_all_organizers(user=user):
        return True
    if organizer_id is None:
        return False
    return _roles_by_organizer(user).get(organizer_id) in roles


def user_is_organizer_staff(*, user: AnyUser, roles: Iterable[str] | None = None) -> bool:
    """Whether the user acts for at least one organizer with one of ``roles`` (superusers always do)."""
    if user_acts_for_all_organizers(user=user):
        return True
    wanted = ALL_ROLES if roles is None else frozenset(roles)
    return any(role in wanted for role in _roles_by_organizer(user).values())


# --- organizers ---------------------------------------------------------------------------------------


def user_can_view_organizer(*, user: AnyUser, organizer: Organizer) -> bool:
    return _has_role(user, organizer.pk, ALL_ROLES)


def user_can_edit_organizer(*, user: AnyUser, organizer: Organizer) -> bool:
    """Owners change their organizer's details; creating and deleting organizers is for superusers."""
    return _has_role(user, organizer.pk, OWNER_ROLES)


def user_can_manage_members(*, user: AnyUser, organizer: Organizer | None = None) -> bool:
    """Adding, changing and removing members makes people staff: superusers only, for now.

    (An owner inviting people by address is a feature of its own: picking from every account would show
    them every user's address.)
    """
    return user_acts_for_all_organizers(user=user)


def user_can_view_members(*, user: AnyUser, organizer: Organizer) -> bool:
    return _has_role(user, organizer.pk, OWNER_ROLES)


def organizers_for_user(
    *, user: AnyUser, roles: Iterable[str] | None = None, queryset: QuerySet[Organizer] | None = None
) -> QuerySet[Organizer]:
    """``queryset`` (all organizers by default) narrowed to those the user acts for with ``roles``."""
    queryset = Organizer.objects.all() if queryset is None else queryset
    if user_acts_for_all_organizers(user=user):
        return queryset
    return queryset.filter(pk__in=organizer_ids_for_user(user=user, roles=roles))


# --- events, and their lineups and ticket types -----------------------------------------------------------


def user_can_view_event(*, user: AnyUser, event: Event) -> bool:
    return _has_role(user, event.organizer_id, ALL_ROLES)


def user_can_edit_event(*, user: AnyUser, event: Event) -> bool:
    """Change the event, its lineup and its ticket types."""
    return _has_role(user, event.organizer_id, EDIT_ROLES)


def user_can_create_events(*, user: AnyUser) -> bool:
    return user_is_organizer_staff(user=user, roles=EDIT_ROLES)


def user_can_delete_event(*, user: AnyUser, event: Event | None = None) -> bool:
    """Public events are cancelled, not deleted. A draft may be deleted by whoever may edit it (the same
    rule as ``events.services.event_delete``, which also refuses drafts with seats sold or held);
    superusers may delete anything that nothing protects."""
    if user_acts_for_all_organizers(user=user):
        return True
    if event is None:  # the changelist's bulk action: decided per object
        return bool(organizer_ids_for_user(user=user, roles=EDIT_ROLES))
    return event.status == Event.Status.DRAFT and _has_role(user, event.organizer_id, EDIT_ROLES)


def user_can_delete_ticket_type(*, user: AnyUser, ticket_type: TicketType) -> bool:
    """A ticket type may go while nobody holds or bought one of its seats."""
    return (
        ticket_type.sold == 0
        and ticket_type.held == 0
        and _has_role(user, ticket_type.event.organizer_id, EDIT_ROLES)
    )


def events_for_user(
    *, user: AnyUser, roles: Iterable[str] | None = None, queryset: QuerySet[Event] | None = None
) -> QuerySet[Event]:
    """``queryset`` (all events by default) narrowed to the events of the user's organizers."""
    queryset = Event.objects.all() if queryset is None else queryset
    if user_acts_for_all_organizers(user=user):
        return queryset
    return queryset.filter(organizer_id__in=organizer_ids_for_user(user=user, roles=roles))


# --- venues -----------------------------------------------------------------------------------------------


def user_can_view_venue(*, user: AnyUser, venue: Venue) -> bool:
    """Venues the user's organizers created (shared venues are listed only in the event form)."""
    return _has_role(user, venue.organizer_id, ALL_ROLES)


def user_can_edit_venue(*, user: AnyUser, venue: Venue) -> bool:
    """Venues of the user's organizers; shared venues (no organizer) only by superusers."""
    return _has_role(user, venue.organizer_id, EDIT_ROLES)


def user_can_create_venues(*, user: AnyUser) -> bool:
    return user_is_organizer_staff(user=user, roles=EDIT_ROLES)


def user_can_delete_venue(*, user: AnyUser, venue: Venue | None = None) -> bool:
    return user_acts_for_all_organizers(user=user)


def venues_for_user(
    *, user: AnyUser, roles: Iterable[str] | None = None, queryset: QuerySet[Venue] | None = None
) -> QuerySet[Venue]:
    """The venues the user's organizers created (every venue for superusers)."""
    queryset = Venue.objects.all() if queryset is None else queryset
    if user_acts_for_all_organizers(user=user):
        return queryset
    return queryset.filter(organizer_id__in=organizer_ids_for_user(user=user, roles=roles))


def venues_usable_by_user(*, user: AnyUser, queryset: QuerySet[Venue] | None = None) -> QuerySet[Venue]:
    """Where the user may put an event: their organizers' venues and the shared ones."""
    queryset = Venue.objects.all() if queryset is None else queryset
    if user_acts_for_all_organizers(user=user):
        return queryset
    own = organizer_ids_for_user(user=user, roles=EDIT_ROLES)
    return queryset.filter(Q(organizer_id__in=own) | Q(organizer__isnull=True))


def venue_allowed_for_organizer(*, venue: Venue, organizer_id: int | None) -> bool:
    """An event is held at its organizer's own venue or at a shared one, never at another organizer's."""
    return venue.organizer_id is None or venue.organizer_id == organizer_id


# --- the shared catalogue: artists and genres -------------------------------------------------------------


def user_can_add_artists(*, user: AnyUser) -> bool:
    return user_is_organizer_staff(user=user, roles=EDIT_ROLES)


def user_can_edit_shared_catalogue(*, user: AnyUser) -> bool:
    """Changing or deleting artists and genres touches every organizer's events: superusers only."""
    return user_acts_for_all_organizers(user=user)
