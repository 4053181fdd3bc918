"""Writes behind the staff admin: staff access for organizer members, ticket type details.

``events/services.py`` holds the catalogue's use cases (event create/update/delete, used by the API);
these are the admin's own, kept apart so the two can evolve without stepping on each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from events.models import OrganizerMember, TicketType
from events.permissions import forget_cached_roles
from grasshopper.lib.exceptions import ApplicationError

if TYPE_CHECKING:
    from accounts.models import User

security_log = structlog.get_logger("security")

ORGANIZER_STAFF_GROUP = "Organizer staff"
# The Django model permissions every organizer member needs to use the admin at all. What each one may do
# with which rows is decided by events.permissions (role and organizer); these only open the doors.
ORGANIZER_STAFF_PERMISSIONS: tuple[str, ...] = (
    "view_organizer",
    "change_organizer",
    "view_organizermember",
    "view_venue",
    "add_venue",
    "change_venue",
    "view_artist",
    "add_artist",
    "view_genre",
    "view_event",
    "add_event",
    "change_event",
    "view_lineup",
    "add_lineup",
    "change_lineup",
    "delete_lineup",
    "view_tickettype",
    "add_tickettype",
    "change_tickettype",
    "delete_tickettype",
)

# What the admin may write on a ticket type: everything except the live counters and the timestamps.
_TICKET_TYPE_COUNTERS = frozenset({"sold", "held"})


class PermissionsMissing(ApplicationError):
    code = "permissions_missing"
    status = 500
    default_message = "The events permissions do not exist yet: run the migrations first."


@transaction.atomic
def organizer_staff_group_ensure() -> Group:
    """Create the "Organizer staff" group, or reset its permissions to ``ORGANIZER_STAFF_PERMISSIONS``."""
    permissions = list(
        Permission.objects.filter(content_type__app_label="events", codename__in=ORGANIZER_STAFF_PERMISSIONS)
    )
    if len(permissions) != len(ORGANIZER_STAFF_PERMISSIONS):
        found = {p.codename for p in permissions}
        raise PermissionsMissing(extra={"missing": sorted(set(ORGANIZER_STAFF_PERMISSIONS) - found)})
    group, _ = Group.objects.get_or_create(name=ORGANIZER_STAFF_GROUP)
    group.permissions.set(permissions)
    return group


@transaction.atomic
def organizer_staff_access_sync(*, user: User, actor: User | None) -> User:
    """Make the user's admin access match their memberships.

    A member of any organizer is staff and in the "Organizer staff" group. Someone with no membership
    left leaves the group, and stops being staff unless they are a superuser or have other groups or
    permissions of their own (staff for another reason).
    """
    group = organizer_staff_group_ensure()
    is_member = OrganizerMember.objects.filter(user_id=user.pk).exists()
    if is_member:
        user.groups.add(group)
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
    else:
        user.groups.remove(group)
        staff_otherwise = (
            user.is_superuser or user.groups.exists() or user.user_permissions.exists()  # type: ignore[attr-defined]
        )
        if user.is_staff and not staff_otherwise:
            user.is_staff = False
            user.save(update_fields=["is_staff"])
    forget_cached_roles(user=user)
    security_log.info(
        "organizer_staff_access_synced",
        user_id=user.pk,
        actor_id=actor.pk if actor else None,
        is_staff=user.is_staff,
        organizer_member=is_member,
    )
    return user


def organizer_member_grant_staff(*, member: OrganizerMember, actor: User | None) -> OrganizerMember:
    """Give a (saved) member what the admin needs: ``is_staff`` and the "Organizer staff" group."""
    organizer_staff_access_sync(user=member.user, actor=actor)
    return member


@transaction.atomic
def ticket_type_save_details(*, ticket_type: TicketType, actor: User | None) -> TicketType:
    """Save a ticket type's details from the admin; never its ``sold``/``held`` counters.

    The counters move only through the inventory services' conditional UPDATEs. A plain ``save()`` of an
    instance read a moment earlier would write its stale counters back over a sale made in between, so an
    existing row is saved with ``update_fields`` that leave them out. ``sold + held <= capacity`` is still
    checked by the database against the row's current counters.
    """
    if actor is not None:
        ticket_type._history_user = actor  # type: ignore[attr-defined]  # simple-history's "changed by"
    if ticket_type._state.adding:
        ticket_type.sold = 0
        ticket_type.held = 0
        ticket_type.save()
    else:
        fields = [
            f.name
            for f in ticket_type._meta.concrete_fields
            if not f.primary_key and f.name not in _TICKET_TYPE_COUNTERS and f.name != "created"
        ]
        ticket_type.save(update_fields=fields)
    return ticket_type
