"""What the waitlist shows on an event page, per visitor, and which entries a browser may act on.

The event page (``events/event_detail.html``) is put together from cached parts that are the same for
every visitor (``events.fragments``). The waitlist block is NOT one of them: ``{% waitlist_panel %}``
(``waitlist.templatetags.waitlist_tags``) renders it in the page's uncached shell on every request, so one
visitor's entry and position can never end up in another visitor's HTML. It costs nothing on a page
whose ticket types are all on sale (or past) and that the visitor never joined a waitlist from: it is
only worked out for sold-out ticket types (and, in lottery mode, ticket types not on sale yet), or
ticket types the visitor's session joined. Then:

- what is the same for everyone (may one join, is the waitlist active, is it paused) is read with
  ``waitlist_page_state`` and cached for ``AVAILABILITY_TTL`` seconds per event, like the seats shown next
  to it (two queries every few seconds per event, one cache round trip per view);
- the visitor's own entries are read on every request (one query, two when one has a live offer): a
  signed-in user's by account, a guest's by the entry ids their browser joined or confirmed
  (``SESSION_KEY``), never by an email address (anyone can type anyone's address).

Join and leave answer htmx with the ticket type's block alone (``panel_item``), rendered fresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from events.cache import AVAILABILITY_TTL, event_tag
from events.models import TicketType
from events.pages import TicketRow
from grasshopper.lib.cache import cache_get_or_set
from waitlist.models import WaitlistEntry, WaitlistOffer
from waitlist.selectors import waitlist_page_state
from waitlist.selectors_visitor import entry_list_for_visitor, offer_live_by_entry

# The browser's own entries: [[entry id, ticket type id], ...], newest last.
SESSION_KEY = "waitlist_entries"
SESSION_MAX = 20
# Ticket states (events.selectors.TicketState.code) for which the waitlist may have something to say.
WAITLIST_STATES = frozenset({"sold_out", "presale", "not_yet"})


# --- the browser's entries ---------------------------------------------------------------------------


def session_entries(request: HttpRequest) -> dict[int, int]:
    """Entry id -> ticket type id, for the entries this browser joined or confirmed."""
    found: dict[int, int] = {}
    for pair in request.session.get(SESSION_KEY, []):
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(n, int) for n in pair):
            found[pair[0]] = pair[1]
    return found


def session_remember(request: HttpRequest, entry: WaitlistEntry) -> None:
    """This browser may see and act on ``entry`` (it joined it, or opened its confirmation link)."""
    pairs = [[k, v] for k, v in session_entries(request).items() if k != entry.pk]
    pairs.append([entry.pk, entry.ticket_type_id])
    request.session[SESSION_KEY] = pairs[-SESSION_MAX:]


def visitor_user(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


def visitor_may_see(request: HttpRequest, entry: WaitlistEntry) -> bool:
    """The entry's own user, or (a guest's entry) a browser that joined or confirmed it."""
    user = visitor_user(request)
    if entry.user_id is not None:
        return user is not None and entry.user_id == user.pk
    return entry.pk in session_entries(request)


# --- what the block shows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelItem:
    """One ticket type's waitlist block.

    ``can_join``: the "Join the waitlist" form; ``active``: "Waitlist active — freed seats go to the people
    waiting first"; ``paused``: nobody new may join now; ``draw``: joining now is a lottery pre-registration
    (before sales open); ``entry``: the visitor's entry (``rank``: 1 = next
    in line, None while unverified, offered or before a lottery draw); ``offer``: its live offer.
    """

    ticket_type: TicketType
    can_join: bool
    active: bool
    paused: bool
    draw: bool
    entry: WaitlistEntry | None
    offer: WaitlistOffer | None

    @property
    def quantities(self) -> range:
        return range(1, self.ticket_type.max_per_order + 1)

    @property
    def shown(self) -> bool:
        return self.can_join or self.active or self.paused or self.entry is not None


Shared = dict[int, tuple[bool, bool, str]]  # ticket type id -> (can_join, active, reason)


def _shared_state(ticket_type_ids: Sequence[int]) -> Shared:
    """What is the same for every visitor: read afresh (two queries)."""
    ticket_types = list(TicketType.objects.filter(pk__in=ticket_type_ids).select_related("event"))
    states = waitlist_page_state(ticket_types=ticket_types, user=None)
    return {tt_id: (state.can_join, state.active, state.reason) for tt_id, state in states.items()}


def _shared_state_cached(event_id: int, ticket_type_ids: Sequence[int]) -> Shared:
    key = f"waitlist.panel:{event_id}:{'.'.join(map(str, ticket_type_ids))}"
    return cache_get_or_set(
        key, lambda: _shared_state(ticket_type_ids), tags=[event_tag(event_id)], ttl=AVAILABILITY_TTL
    )


def _items(
    ticket_types: Iterable[TicketType], *, shared: Shared, entries: list[WaitlistEntry]
) -> list[PanelItem]:
    now = timezone.now()
    mine = {entry.ticket_type_id: entry for entry in entries}
    offers = offer_live_by_entry(entries=entries)
    items = []
    for tt in ticket_types:
        can_join, active, reason = shared.get(tt.pk, (False, False, "closed"))
        entry = mine.get(tt.pk)
        items.append(
            PanelItem(
                ticket_type=tt,
                can_join=can_join and entry is None,
                active=active,
                paused=reason == "paused" and entry is None,
                draw=tt.sales_start is not None and now < tt.sales_start,
                entry=entry,
                offer=offers.get(entry.pk) if entry is not None else None,
            )
        )
    return items


def panel_items_for_page(
    *, rows: Sequence[TicketRow], event_id: int, request: HttpRequest
) -> list[PanelItem]:
    """The event page's waitlist blocks for this visitor, in the page's order (only those with something
    to show). No query and no cache access when no ticket type is sold out (or, possibly, in lottery
    pre-registration) and this browser joined none of them."""
    user = visitor_user(request)
    mine = session_entries(request)
    page_ids = [row.ticket_type.pk for row in rows]
    relevant = {row.ticket_type.pk for row in rows if row.state.code in WAITLIST_STATES}
    relevant |= {tt_id for tt_id in mine.values() if tt_id in page_ids}
    if not relevant:
        return []
    ids = [tt_id for tt_id in page_ids if tt_id in relevant]
    shared = _shared_state_cached(event_id, ids)
    entries = entry_list_for_visitor(ticket_type_ids=ids, user=user, entry_ids=list(mine))
    ticket_types = [row.ticket_type for row in rows if row.ticket_type.pk in relevant]
    return [item for item in _items(ticket_types, shared=shared, entries=entries) if item.shown]


def panel_item(*, ticket_type: TicketType, request: HttpRequest) -> PanelItem:
    """One ticket type's block for this visitor, read afresh (after they joined or left)."""
    user = visitor_user(request)
    states = waitlist_page_state(ticket_types=[ticket_type], user=None)
    state = states.get(ticket_type.pk)
    shared: Shared = {ticket_type.pk: (state.can_join, state.active, state.reason)} if state else {}
    entries = entry_list_for_visitor(
        ticket_type_ids=[ticket_type.pk], user=user, entry_ids=list(session_entries(request))
    )
    return _items([ticket_type], shared=shared, entries=entries)[0]
