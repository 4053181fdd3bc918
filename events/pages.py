"""What the catalogue's HTML pages show, shaped from the selectors, so that views only call and render.

The event list's query string is shared with the API (``events.filters.EventFilterSet``); the page is more
forgiving than the API: instead of answering 400 it drops what it cannot use and says so in a notice.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils import timezone

from events.cache import CATALOGUE_TTL, TAG_EVENTS, TAG_GENRES, TAG_VENUES
from events.filters import MAX_QUERY_LENGTH, DatePreset, EventFilterSet, Sort, StrictNullBooleanField
from events.models import Event, Genre, Lineup, TicketType
from events.selectors import TicketState, city_list, event_list_public, genre_list, ticket_type_state
from grasshopper.lib.cache import cached_selector

PAGE_SIZE = 12
# The list's query parameters, in the order they appear in shared URLs.
FILTER_NAMES = ("q", "date", "date_from", "date_to", "city", "genre", "price", "available", "sort")
# What each parameter is called in "We ignored an unknown …" notices.
_NOUNS = {
    "date": "date option",
    "date_from": "start date",
    "date_to": "end date",
    "city": "city",
    "genre": "genre",
    "price": "price option",
    "available": "availability option",
    "sort": "sort order",
}
# The values Django's NullBooleanSelect understands (anything else would silently mean "any").
_TRUE_VALUES = set(StrictNullBooleanField.TRUE)


# The filter menus change rarely and show no availability: cached under their tags (bumped on change).
@cached_selector(tags=[TAG_EVENTS, TAG_VENUES], ttl=CATALOGUE_TTL, key="events.pages.filter_cities")
def _filter_cities() -> list[str]:
    return city_list()


@cached_selector(tags=[TAG_GENRES], ttl=CATALOGUE_TTL, key="events.pages.filter_genres")
def _filter_genres() -> list[Genre]:
    return genre_list()


@dataclass(frozen=True)
class EventListParams:
    """The usable part of an event list query string, and what was dropped from it."""

    data: dict[str, str]  # accepted, non-empty filter values (city spelt as stored)
    notices: list[str]
    query_too_long: bool
    page: int | None  # None: not given or unreadable (page 1)

    @property
    def query_string(self) -> str:
        """The canonical query string of these filters (no page), for links and the pushed URL."""
        return urlencode([(name, self.data[name]) for name in FILTER_NAMES if name in self.data])

    @property
    def sort(self) -> str:
        """The sort order in effect, as EventFilterSet applies it: best match when searching (the default
        then), otherwise soonest first."""
        if not self.data.get("q"):
            return Sort.SOONEST if self.data.get("sort") in (None, Sort.RELEVANCE) else self.data["sort"]
        return self.data.get("sort") or Sort.RELEVANCE


def event_list_params_clean(
    params: Mapping[str, str], *, cities: Iterable[str], genre_slugs: Iterable[str]
) -> EventListParams:
    """Keep the filter values the list can use; for each other one, a notice naming what was ignored."""
    raw = {name: str(params.get(name, "")).strip() for name in FILTER_NAMES}
    data = {name: value for name, value in raw.items() if value}
    notices: list[str] = []

    query_too_long = len(data.get("q", "")) > MAX_QUERY_LENGTH
    if query_too_long:
        del data["q"]

    form = EventFilterSet(data=data, queryset=Event.objects.none()).form
    form.is_valid()
    for name in FILTER_NAMES:
        if name in form.errors and name in data:
            notices.append(f"We ignored an unknown {_NOUNS.get(name, name)} “{data.pop(name)}”.")
    if "available" in data:  # the form accepted it: one spelling in the URL
        data["available"] = "true" if data["available"] in _TRUE_VALUES else "false"
    if "city" in data:
        known = {city.casefold(): city for city in cities}
        if data["city"].casefold() in known:
            data["city"] = known[data["city"].casefold()]
        else:
            notices.append(f"We ignored an unknown city “{data.pop('city')}”.")
    if "genre" in data and data["genre"] not in set(genre_slugs):
        notices.append(f"We ignored an unknown genre “{data.pop('genre')}”.")
    if "date_from" in data and "date_to" in data and data["date_to"] < data["date_from"]:
        # Both are valid ISO dates here (the form checked them), so they compare as strings.
        notices.append(f"We ignored the end date “{data.pop('date_to')}”: it is before the start date.")

    page: int | None = None
    raw_page = str(params.get("page", "")).strip()
    if raw_page:
        if raw_page.isdigit() and int(raw_page) >= 1:
            page = int(raw_page)
        else:
            notices.append(f"We ignored a page number we could not read: “{raw_page}”.")
    return EventListParams(data=data, notices=notices, query_too_long=query_too_long, page=page)


@dataclass
class EventListPage:
    """The /events/ page: its filters, the page of results and what to tell the visitor."""

    params: EventListParams
    cities: list[str]
    genres: list[Genre]
    page: Page[Event] | None  # None when the query was too long to run
    notices: list[str] = field(default_factory=list)
    past_the_end: bool = False  # the requested page does not exist (shown: the last one, or nothing)
    appending: bool = False  # this page is added below the earlier ones ("Load more")

    max_query_length = MAX_QUERY_LENGTH
    date_choices = DatePreset.CHOICES
    price_choices = (("free", "Free"), ("paid", "Paid"))
    sort_choices = Sort.CHOICES

    @property
    def count(self) -> int:
        return self.page.paginator.count if self.page is not None else 0

    @property
    def summary(self) -> str:
        """The result count for the live region, e.g. "40 events found, showing 1 to 24."."""
        if self.params.query_too_long:
            return "No search was run."
        if self.page is None or not self.count:
            return "No events found."
        found = f"{self.count} event{'s' if self.count != 1 else ''} found"
        if self.page.paginator.num_pages == 1:
            return f"{found}."
        first = 1 if self.appending else self.page.start_index()
        last = self.count if self.past_the_end else self.page.end_index()
        return f"{found}, showing {first} to {last}."

    def page_url(self, number: int) -> str:
        query = self.params.query_string
        return "?" + (f"{query}&" if query else "") + f"page={number}"

    @property
    def url(self) -> str:
        """This page's canonical URL (relative), for the address bar."""
        number = self.page.number if self.page is not None else 1
        if number > 1:
            return self.page_url(number)
        return f"?{self.params.query_string}" if self.params.query_string else "?"

    @property
    def next_url(self) -> str | None:
        if self.page is None or not self.page.has_next():
            return None
        return self.page_url(self.page.next_page_number())

    @property
    def previous_url(self) -> str | None:
        if self.page is None or not self.page.has_previous():
            return None
        return self.page_url(self.page.previous_page_number())


def event_list_page(
    *, params: Mapping[str, str], now: datetime | None = None, appending: bool = False
) -> EventListPage:
    """The event list for a query string. ``appending``: the page is added below the ones already shown
    ("Load more"), so a page past the end is empty rather than the last page again."""
    cities = _filter_cities()
    genres = _filter_genres()
    cleaned = event_list_params_clean(params, cities=cities, genre_slugs=[g.slug for g in genres])
    listing = EventListPage(
        params=cleaned,
        cities=cities,
        genres=genres,
        page=None,
        notices=list(cleaned.notices),
        appending=appending,
    )
    if cleaned.query_too_long:
        return listing

    events: QuerySet[Event] = EventFilterSet(data=cleaned.data, queryset=event_list_public(now=now)).qs
    paginator = Paginator(events, PAGE_SIZE)
    number = cleaned.page or 1
    if number > paginator.num_pages:
        listing.past_the_end = True
        if appending or paginator.count == 0:
            listing.page = Page([], number, paginator)  # nothing more to show
            return listing
        listing.notices.append(f"There is no page {number}: this is the last page of results.")
        number = paginator.num_pages
    listing.page = paginator.page(number)
    return listing


@dataclass(frozen=True)
class TicketRow:
    ticket_type: TicketType
    state: TicketState


@dataclass
class EventPage:
    """One event's page: the event (with venue, organizer, lineup, genres) and its tickets' states now."""

    event: Event
    lineup: list[Lineup]  # headliners first, then in running order
    tickets: list[TicketRow]
    is_draft: bool


def event_page(
    *,
    event: Event,
    now: datetime | None = None,
    ticket_types: Iterable[TicketType] | None = None,
    ticket_event: Event | None = None,
) -> EventPage:
    """Shape an event from ``event_get_for_page`` for its page. Ticket states are computed now, from
    ``ticket_types`` when given (else the event's prefetched ones) and the status and times of
    ``ticket_event`` (the fresher read of the same event that came with them; else ``event``)."""
    now = now or timezone.now()
    lineup = sorted(event.lineup.all(), key=lambda slot: (not slot.is_headliner, slot.position, slot.pk))
    return EventPage(
        event=event,
        lineup=lineup,
        tickets=ticket_rows(
            ticket_types=event.ticket_types.all() if ticket_types is None else ticket_types,
            event=ticket_event or event,
            now=now,
        ),
        is_draft=event.status == Event.Status.DRAFT,
    )


def ticket_rows(*, ticket_types: Iterable[TicketType], event: Event, now: datetime) -> list[TicketRow]:
    """Each ticket type with its state for a buyer now (``event``: its status, start and time zone)."""
    return [
        TicketRow(
            ticket_type=ticket_type, state=ticket_type_state(ticket_type=ticket_type, event=event, now=now)
        )
        for ticket_type in ticket_types
    ]
