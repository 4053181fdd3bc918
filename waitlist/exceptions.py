"""Errors the waitlist services raise, each with a stable snake_case ``code`` and the HTTP status the API
answers."""

from grasshopper.lib.exceptions import ApplicationError, Conflict, NotFound

__all__ = [
    "EntryNotFound",
    "WaitlistAlreadyJoined",
    "WaitlistClosed",
    "WaitlistEmailRequired",
    "WaitlistEntryNotActive",
    "WaitlistNotSoldOut",
    "WaitlistOfferNotLive",
    "WaitlistPaused",
    "WaitlistPositionInvalid",
    "WaitlistQuantityInvalid",
    "WaitlistTokenInvalid",
]


class WaitlistNotSoldOut(Conflict):
    code = "waitlist_not_sold_out"
    default_message = "Tickets are still on sale: buy them instead of joining the waitlist."


class WaitlistClosed(Conflict):
    code = "waitlist_closed"
    default_message = "This waitlist is closed: the tickets are not on sale any more."


class WaitlistPaused(Conflict):
    code = "waitlist_paused"
    default_message = "This waitlist is paused: nobody new can join for now."


class WaitlistAlreadyJoined(Conflict):
    code = "waitlist_already_joined"
    default_message = "You are already on the waitlist for these tickets."


class WaitlistQuantityInvalid(ApplicationError):
    code = "waitlist_quantity_invalid"
    status = 400
    default_message = "Choose how many tickets you want, up to the most one order may have."


class WaitlistEmailRequired(ApplicationError):
    code = "waitlist_email_required"
    status = 400
    default_message = "Give your email address so we can tell you when tickets come up."


class WaitlistTokenInvalid(ApplicationError):
    code = "waitlist_token_invalid"
    status = 400
    default_message = "This link is invalid or has expired."


class EntryNotFound(NotFound):
    code = "waitlist_entry_not_found"
    default_message = "No such waitlist entry."


class WaitlistEntryNotActive(Conflict):
    code = "waitlist_entry_not_active"
    default_message = "This waitlist entry is no longer in line."


class WaitlistOfferNotLive(Conflict):
    code = "waitlist_offer_not_live"
    default_message = "This offer is no longer open."


class WaitlistPositionInvalid(ApplicationError):
    code = "waitlist_position_invalid"
    status = 400
    default_message = "Choose a position between 1 and the number of people waiting."
