"""Facts the catalogue announces to higher apps (received in their ``receivers.py``).

``inventory_released`` (kwargs ``ticket_type_id: int``, ``quantity: int``): seats went back on sale
(a hold released, a sold seat returned). Sent INSIDE the releasing transaction, so the waitlist's receiver
can turn the freed seats into offer holds before any public buyer sees them (DESIGN.md section 7);
receivers must push side effects (emails) to ``transaction.on_commit``.

``event_changed`` (kwargs ``event: Event``, ``changes: dict[str, tuple[old, new]]``): a public event's time or
place moved, or it was postponed. Keys among ``starts_at``, ``doors_at`` (datetimes or None), ``venue``
(Venue) and ``status`` (only for a move to postponed). Sent once per saved change, inside its transaction.

``event_cancelled`` (kwargs ``event: Event``): a public event was cancelled. Sent once, inside the
cancelling transaction.

Both come from ``events.services.event_changes_announce`` (the API's ``event_update`` and the admin's save).
Receivers that tell the ticket holders report how far they got under ``holder_notices_progress_key``
(``grasshopper.lib.progress``), which the event admin shows.
"""

from django.dispatch import Signal

inventory_released = Signal()
event_changed = Signal()
event_cancelled = Signal()


def holder_notices_progress_key(*, event_id: int) -> str:
    """Where the progress of the emails to an event's ticket holders is kept (grasshopper.lib.progress)."""
    return f"events.event:{event_id}:holder-notices"
