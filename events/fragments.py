"""The catalogue pages' cached parts: what every visitor sees the same is rendered once, not per request.

**An event page** (``/events/<slug>/``) is put together on every request from

- the *catalogue part* (``CataloguePart``: status banners, header, date and time, about, lineup, venue,
  good to know; the title, the meta description and the JSON-LD without offers). It changes only when
  staff change the event, its lineup, ticket types, genres, venue, artists or organizer, and
  ``events.receivers`` bumps ``event:<id>`` (or ``genres``) after each such commit. Cached for
  ``CATALOGUE_TTL``, stamped with those tags' versions: an edit shows on the next request.
- the *tickets part* (``TicketsPart``: the ticket types with their state, their rows for the buy form, the
  JSON-LD with its offers, and the buy form as a visitor who is not signed in gets it). Seats change by
  conditional UPDATEs that no receiver hears of, so it is served only while the database confirmed it
  less than ``AVAILABILITY_TTL`` seconds ago; then its rows are read again (one query) and it is rendered
  again only if something a buyer sees changed. Stamped with the same tags: an edit shows at once here too.
- what differs per request, rendered by the shell (``events/event_detail.html`` on ``base.html``): the CSP
  nonce, the account menu and CSRF token, the draft banner, and the buy form's CSRF token (a signed-in
  buyer's form, which names their email, is rendered for them).

Both parts are stamped entries of ``grasshopper.lib.cache`` under the page's URL (slug and origin: the
JSON-LD holds absolute URLs). A page served from the cache costs two cache round trips and no query; a
check of the tickets part, one query (``event_tickets_get``); a page rendered afresh, four. Drafts are
never cached: only their organizer's staff see them, with the banner. Measured on the benchmark's
database: about 1.4 ms of CPU for a page from the cache, 9 ms for one rendered afresh.

**The event list** (``/events/``, search included) is cached for visitors who are not signed in, in two
parts: the list rendered with a placeholder for each card's footer (which events, in which order, the
filters, the count), for ``LIST_TTL`` seconds (``AVAILABILITY_TTL`` when filtered by availability), and
the footers (price and ticket state) for ``AVAILABILITY_TTL`` seconds, read again in one query. Both are
stamped with ``LIST_TAGS``, bumped by any change to what a card, the filter menus or a search shows. The
key is the list's own query parameters as given (stripped, in a fixed order, any other ignored): the page
is a function of them, while the cleaned filter state would need the city and genre menus first. A list
from the cache costs one cache round trip; with its footers read again, about 1.7 ms more; rendered
afresh, some 14 ms (a search: its corrections, the count, the page).
"""

from __future__ import annotations

import copy
import hashlib
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from events import selectors
from events.cache import (
    AVAILABILITY_TTL,
    CATALOGUE_TTL,
    TAG_EVENTS,
    TAG_GENRES,
    TAG_SEARCH,
    TAG_VENUES,
    event_tag,
)
from events.jsonld import event_jsonld_with_offers, event_jsonld_without_offers, jsonld_dumps
from events.models import Event
from events.pages import FILTER_NAMES, EventListPage, EventPage, event_list_page, event_page, ticket_rows
from grasshopper.lib.cache import cache_get_stamped, cache_set_stamped, tag_versions

EVENT_TEMPLATE = "events/event_detail.html"
LIST_TEMPLATE = "events/event_list.html"
CARD_FOOTER_TEMPLATE = "events/_event_card.html#footer"
# Stands for the visitor's CSRF token in the cached buy form (replaced on every request).
CSRF_PLACEHOLDER = "gh-csrf-token-placeholder-6c1f0e"


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


# --- The event page ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CataloguePart:
    """An event page without what changes when seats sell, as HTML (and the JSON-LD's data)."""

    event_id: int
    title: str
    head: SafeString  # the meta description
    top: SafeString  # status banners and header
    main: SafeString  # date and time, about, lineup, venue, good to know
    jsonld: dict[str, Any]  # without offers


@dataclass(frozen=True)
class TicketsPart:
    """An event page's ticket types in their state now: rows (for the buy form), HTML and JSON-LD."""

    page: EventPage  # the event (only the fields event_tickets_get loads) and the ticket rows; no lineup
    html: SafeString
    jsonld: SafeString  # the whole JSON-LD, with offers
    guest_buy_form: SafeString  # what a visitor who is not signed in gets, CSRF token as a placeholder
    signature: tuple[Any, ...]  # what it was rendered from: the rows read and the states computed
    checked_at: float  # when the database last confirmed it (time.time())

    def is_fresh(self, now: float) -> bool:
        return now - self.checked_at < AVAILABILITY_TTL


@dataclass(frozen=True)
class EventPageParts:
    """What the shell template needs (``parts``)."""

    title: str
    head: SafeString
    top: SafeString
    main: SafeString
    tickets: SafeString
    jsonld: SafeString
    page: EventPage  # for a buy form rendered per request
    buy_form: SafeString | None  # the cached buy form with this visitor's CSRF token, or None
    is_draft: bool


def event_page_tags(event_id: int) -> list[str]:
    """What an event page shows is bumped under these (``events.receivers``)."""
    return [event_tag(event_id), TAG_GENRES]


# Slug -> event id, as last seen by this process: a hint that lets the cache read an event page's tag
# versions with its parts, in one round trip. Never trusted: the parts carry their own stamps, and a wrong
# hint only costs the second round trip. Bounded: forgotten wholesale when full.
_EVENT_IDS: dict[str, int] = {}
_EVENT_IDS_MAX = 20_000


def _remember_event_id(slug: str, event_id: int) -> None:
    if len(_EVENT_IDS) >= _EVENT_IDS_MAX:
        _EVENT_IDS.clear()
    _EVENT_IDS[slug] = event_id


def _page_keys(request: HttpRequest, slug: str) -> tuple[str, str]:
    key = _digest(slug, request.build_absolute_uri("/"))
    return f"events.page.catalogue:{key}", f"events.page.tickets:{key}"


def event_page_parts(*, request: HttpRequest, slug: str) -> EventPageParts | None:
    """The parts of the event page for ``slug``, from the cache where they are current; ``None`` when
    there is no such event, or it is a draft this user may not see.

    The tickets part is served while the database confirmed it less than ``AVAILABILITY_TTL`` seconds
    ago. Then its rows are read again (one query) and, when nothing a buyer sees has changed (the usual
    case: seats do not sell every few seconds on most pages), it is confirmed rather than rendered again."""
    catalogue_key, tickets_key = _page_keys(request, slug)
    known_id = _EVENT_IDS.get(slug)
    found = cache_get_stamped(
        [catalogue_key, tickets_key], tags=event_page_tags(known_id) if known_id is not None else ()
    )
    catalogue: CataloguePart | None = found.values.get(catalogue_key)
    tickets: TicketsPart | None = found.values.get(tickets_key)
    checked_at = time.time()
    if catalogue is not None and tickets is not None and tickets.is_fresh(checked_at):
        if known_id != catalogue.event_id:
            _remember_event_id(slug, catalogue.event_id)
        return _assemble(catalogue, tickets, request=request, is_draft=False)

    fresh = selectors.event_tickets_get(slug=slug)
    if fresh is None:
        return None
    if fresh.event.status == Event.Status.DRAFT:
        return _draft_parts(request=request, slug=slug)
    _remember_event_id(slug, fresh.event.pk)
    tags = event_page_tags(fresh.event.pk)
    now = timezone.now()
    rows = ticket_rows(ticket_types=fresh.ticket_types, event=fresh.event, now=now)
    store: dict[str, CataloguePart | TicketsPart] = {}
    if catalogue is None or catalogue.event_id != fresh.event.pk:
        # The versions are read before the rows the catalogue part is made of: a change committed after
        # this leaves the entry stamped with an older version, so it is never served. (The seats were
        # read just before: a ticket type edited in that instant may show its old price or name until
        # the tickets part is checked again, seconds later, like seats.)
        versions = tag_versions(tags)
        event = selectors.event_get_for_page(slug=slug, user=AnonymousUser(), with_ticket_types=False)
        if event is None or event.pk != fresh.event.pk:
            return None  # unpublished or renamed in between: as if we had come a moment later
        page = event_page(event=event, now=now, ticket_types=fresh.ticket_types, ticket_event=fresh.event)
        catalogue = store[catalogue_key] = _catalogue_part(page, request=request)
        tickets = None
    else:
        # Current as of the cache read, which came before event_tickets_get's query.
        versions = {tag: found.versions[tag] for tag in tags if tag in found.versions}
    signature = (fresh.signature, tuple(row.state for row in rows))
    if tickets is not None and tickets.signature == signature:
        tickets = replace(tickets, checked_at=checked_at)
    else:
        page = EventPage(event=fresh.event, lineup=[], tickets=rows, is_draft=False)
        tickets = _tickets_part(
            catalogue, page=page, request=request, signature=signature, checked_at=checked_at
        )
    store[tickets_key] = tickets
    if versions is not None and len(versions) == len(tags):
        # The tickets part too is kept longer than it may be served: unchanged, it is confirmed (above),
        # not rendered again.
        cache_set_stamped(store, versions=versions, ttl=CATALOGUE_TTL)
    return _assemble(catalogue, tickets, request=request, is_draft=False)


def _draft_parts(*, request: HttpRequest, slug: str) -> EventPageParts | None:
    """A draft, for its organizer's staff: rendered for them, never cached."""
    event = selectors.event_get_for_page(slug=slug, user=request.user)
    if event is None:
        return None
    page = event_page(event=event)
    catalogue = _catalogue_part(page, request=request)
    tickets = _tickets_part(catalogue, page=page, request=request, signature=(), checked_at=time.time())
    return _assemble(catalogue, tickets, request=request, is_draft=True)


def _catalogue_part(page: EventPage, *, request: HttpRequest) -> CataloguePart:
    event = page.event
    context = {"event": event, "page": page}
    return CataloguePart(
        event_id=event.pk,
        title=event.title,
        head=render_to_string(f"{EVENT_TEMPLATE}#head", context),
        top=render_to_string(f"{EVENT_TEMPLATE}#top", context),
        main=render_to_string(f"{EVENT_TEMPLATE}#main", context),
        jsonld=event_jsonld_without_offers(
            event=event, lineup=page.lineup, absolute_url=request.build_absolute_uri
        ),
    )


def _tickets_part(
    catalogue: CataloguePart,
    *,
    page: EventPage,
    request: HttpRequest,
    signature: tuple[Any, ...],
    checked_at: float,
) -> TicketsPart:
    # The buy form as anyone who is not signed in sees it on this page: rendered with a stand-in of the
    # request without its user, and a placeholder for the CSRF token.
    guest = copy.copy(request)
    guest.user = AnonymousUser()
    return TicketsPart(
        page=page,
        html=render_to_string(f"{EVENT_TEMPLATE}#tickets", {"page": page}),
        jsonld=jsonld_dumps(
            event_jsonld_with_offers(catalogue.jsonld, event=page.event, tickets=page.tickets)
        ),
        guest_buy_form=render_to_string(
            f"{EVENT_TEMPLATE}#buy", {"page": page, "request": guest, "csrf_token": CSRF_PLACEHOLDER}
        ),
        signature=signature,
        checked_at=checked_at,
    )


def _assemble(
    catalogue: CataloguePart, tickets: TicketsPart, *, request: HttpRequest, is_draft: bool
) -> EventPageParts:
    buy_form = None
    html = tickets.html
    if not request.user.is_authenticated:
        # get_token() also makes the response set the CSRF cookie, as {% csrf_token %} would.
        buy_form = mark_safe(tickets.guest_buy_form.replace(CSRF_PLACEHOLDER, get_token(request)))  # noqa: S308 # nosec B308 B703
    elif any(row.state.code == "presale" for row in tickets.page.tickets):
        # The shared part says "Members' presale — opens to everyone on …"; a member may buy now (their buy
        # form says so), so they get the rows as they stand for them. Only during a presale, signed in.
        html = _tickets_for_user(tickets.page, request=request) or html
    return EventPageParts(
        title=catalogue.title,
        head=catalogue.head,
        top=catalogue.top,
        main=catalogue.main,
        tickets=html,
        jsonld=tickets.jsonld,
        page=tickets.page,
        buy_form=buy_form,
        is_draft=is_draft,
    )


def _tickets_for_user(page: EventPage, *, request: HttpRequest) -> SafeString | None:
    """The tickets part's HTML with each row's state for the signed-in user (``ticket_type_states_for_user``),
    or None when the shared part already says what holds for them. The buy form keeps the shared rows: it
    works out the user's own states itself, and tells a member why they may buy early."""
    states = selectors.ticket_type_states_for_user(
        ticket_types=[row.ticket_type for row in page.tickets], event=page.event, user=request.user
    )
    rows = [replace(row, state=states[row.ticket_type.pk]) for row in page.tickets]
    if rows == page.tickets:
        return None
    return render_to_string(f"{EVENT_TEMPLATE}#tickets", {"page": replace(page, tickets=rows)})


# --- The event list ------------------------------------------------------------------------------------

# What the list view renders: the whole content block, the results (htmx), the next page's cards (htmx).
LIST_MODES = ("page", "results", "more")
# Cards, the filter menus (cities, genres) and search results show what these are bumped for.
LIST_TAGS = (TAG_EVENTS, TAG_VENUES, TAG_GENRES, TAG_SEARCH)
# Seconds. Which events a list shows, and in which order, without their availability: a change of an event
# shows at once (tags); an event that has just started may stay listed this long (its card says "Sales
# ended"). Lists filtered by availability ("available") are kept AVAILABILITY_TTL seconds instead.
LIST_TTL = 60
# The id of the list that "Load more" appends to (hx-target).
APPEND_TARGET = "event-list"
_CARD_FOOTER = re.compile(r"<!--gh-card-footer:(\d+)-->")


@dataclass(frozen=True)
class EventListFragment:
    html: SafeString
    query: str  # the search, for the page title ("" when none ran)
    url: str  # the canonical URL of this state (relative), for htmx's pushed URL


@dataclass(frozen=True)
class _ListSkeleton:
    """A list's HTML with a placeholder for each card's footer (price and ticket state)."""

    fragment: EventListFragment
    event_ids: list[int]


def event_list_fragment(*, params: Mapping[str, str], mode: str, cacheable: bool) -> EventListFragment:
    """The event list's HTML for ``mode`` (see ``LIST_MODES``), from the cache when ``cacheable``: the
    list itself for ``LIST_TTL`` seconds, the cards' prices and ticket states for ``AVAILABILITY_TTL``."""
    if mode not in LIST_MODES:
        raise ValueError(f"unknown mode {mode!r}")
    if not cacheable:
        return _list_fragment(_listing(params, mode), mode=mode, placeholders=False)[0].fragment

    state = [f"{name}={str(params.get(name, '')).strip()}" for name in (*FILTER_NAMES, "page")]
    digest = _digest(mode, *state)
    skeleton_key, footers_key = f"events.list:{digest}", f"events.list.cards:{digest}"
    found = cache_get_stamped([skeleton_key, footers_key], tags=LIST_TAGS)
    skeleton: _ListSkeleton | None = found.values.get(skeleton_key)
    footers: dict[int, str] | None = found.values.get(footers_key)
    # Read with the entries, before any query below: safe to stamp what those queries return with.
    versions: dict[str, int] | None = found.versions if len(found.versions) == len(LIST_TAGS) else None
    if skeleton is None:
        versions = versions or tag_versions(LIST_TAGS)
        skeleton, footers = _list_fragment(_listing(params, mode), mode=mode, placeholders=True)
        if versions is not None:
            by_availability = bool(str(params.get("available", "")).strip())
            ttl = AVAILABILITY_TTL if by_availability else LIST_TTL
            cache_set_stamped({skeleton_key: skeleton}, versions=versions, ttl=ttl)
    if footers is None:
        footers = _card_footers(selectors.event_card_states(event_ids=skeleton.event_ids).values())
    if footers_key not in found.values and versions is not None:
        cache_set_stamped({footers_key: footers}, versions=versions, ttl=AVAILABILITY_TTL)
    html = _CARD_FOOTER.sub(lambda match: footers.get(int(match[1]), ""), skeleton.fragment.html)
    # Our own rendered HTML (bandit B308/B703 silenced).
    return replace(skeleton.fragment, html=mark_safe(html))  # noqa: S308 # nosec B308 B703


def _listing(params: Mapping[str, str], mode: str) -> EventListPage:
    return event_list_page(params=params, appending=mode == "more")


def _list_fragment(
    listing: EventListPage, *, mode: str, placeholders: bool
) -> tuple[_ListSkeleton, dict[int, str]]:
    """The list rendered (cards' footers as placeholders if ``placeholders``), and the footers."""
    context = {
        "listing": listing,
        "page": listing.page,
        "append_target": APPEND_TARGET,
        # The results of an htmx request also refresh the status region, out of band.
        "htmx": mode != "page",
        "card_footer_placeholders": placeholders,
    }
    partial = {"page": "listing", "results": "results", "more": "more"}[mode]
    html = render_to_string(f"{LIST_TEMPLATE}#{partial}", context)
    events = list(listing.page.object_list) if listing.page is not None else []
    fragment = EventListFragment(html=html, query=listing.params.data.get("q", ""), url=listing.url)
    footers = _card_footers(events) if placeholders else {}
    return _ListSkeleton(fragment=fragment, event_ids=[event.pk for event in events]), footers


def _card_footers(events: Iterable[Event]) -> dict[int, str]:
    """Each card's footer (price, ticket state), from events annotated as ``event_list_public`` does."""
    return {event.pk: render_to_string(CARD_FOOTER_TEMPLATE, {"event": event}) for event in events}
