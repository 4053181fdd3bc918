"""Errors the catalogue's services raise. Each has a stable snake_case ``code`` (what API clients switch on)
and the HTTP status the API answers; other engineers append theirs below."""

from grasshopper.lib.exceptions import ApplicationError, Conflict, PermissionDenied


class EventPermissionDenied(PermissionDenied):
    code = "permission_denied"
    default_message = "You may not change this organizer's events."


class VenueNotAllowed(ApplicationError):
    code = "venue_not_allowed"
    status = 400
    default_message = "Events can only be held at the organizer's own venues or at shared venues."


class EventStatusTransitionNotAllowed(Conflict):
    code = "event_status_transition_not_allowed"
    default_message = "The event cannot move to this status."


class EventNotDeletable(Conflict):
    code = "event_not_deletable"
    default_message = "Only a draft event without orders can be deleted; cancel it instead."


class TicketTypeCapacityBelowSold(Conflict):
    code = "capacity_below_sold"
    default_message = "A ticket type's capacity cannot go below the seats already sold or held."


class TicketTypeHasSales(Conflict):
    code = "ticket_type_has_sales"
    default_message = (
        "A ticket type with seats sold or held cannot be removed; hide it or lower its capacity."
    )


class TicketTypeUnknown(ApplicationError):
    code = "ticket_type_unknown"
    status = 400
    default_message = "This ticket type does not belong to the event."


class SearchQueryTooLong(ApplicationError):
    code = "query_too_long"
    status = 400
    default_message = "The search query is too long (200 characters at most)."


class SoldOut(Conflict):
    """Not enough seats left. ``extra["available"]`` is the remainder read right after the refusal."""

    code = "sold_out"
    default_message = "Not enough tickets left."
