"""The catalogue's pages: home, the event list, event, artist and venue pages, an event's .ics file.

Views only call selectors and page helpers (events.pages, events.jsonld, events.ics) and render.
Ticket states and seats left are read fresh on every request; only the list's filter menus (cities,
genres) come from the tagged cache (events.pages).
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe
from django_htmx.http import push_url
from django_htmx.middleware import HtmxDetails

from events import selectors
from events.ics import event_ics
from events.jsonld import event_jsonld, jsonld_dumps
from events.models import Event
from events.pages import event_list_page, event_page


class HtmxHttpRequest(HttpRequest):
    """A request through django-htmx's middleware (for the type checker)."""

    htmx: HtmxDetails


# The id of the list that "Load more" appends to (hx-target); any other htmx request gets the results.
APPEND_TARGET = "event-list"
# The home page shows this many featured and this many soonest events (two or four rows of cards).
HOME_LIMIT = 8
# Artist and venue pages list this many upcoming events at most.
UPCOMING_LIMIT = 48


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Featured events, then the soonest with tickets on sale, below the search."""
    return render(request, "events/home.html", selectors.event_list_home(limit=HOME_LIMIT))


@require_safe
def event_list(request: HtmxHttpRequest) -> HttpResponse:
    """Search and filters, all in the query string; htmx gets the results (or the next page) only."""
    # htmx restoring history it had no snapshot of asks for the whole page, like a browser would.
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    appending = partial and request.htmx.target == APPEND_TARGET
    listing = event_list_page(params=request.GET, appending=appending)
    context = {"listing": listing, "page": listing.page, "append_target": APPEND_TARGET}
    if not partial:
        response = render(request, "events/event_list.html", context)
    else:
        template = "events/event_list.html#more" if appending else "events/event_list.html#results"
        # The address bar shows the canonical query (no empty or ignored parameters), so it can be shared.
        response = push_url(render(request, template, context), reverse("events:list") + listing.url)
    # One URL, three answers: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request", "HX-Target", "HX-History-Restore-Request"))
    return response


def _event_or_404(request: HttpRequest, slug: str) -> Event:
    event = selectors.event_get_for_page(slug=slug, user=request.user)
    if event is None:
        raise Http404("No such event")
    return event


@require_safe
def event_detail(request: HttpRequest, slug: str) -> HttpResponse:
    page = event_page(event=_event_or_404(request, slug))
    jsonld = jsonld_dumps(event_jsonld(page=page, absolute_url=request.build_absolute_uri))
    return render(request, "events/event_detail.html", {"page": page, "event": page.event, "jsonld": jsonld})


@require_safe
def event_calendar(request: HttpRequest, slug: str) -> HttpResponse:
    event = _event_or_404(request, slug)
    url = request.build_absolute_uri(reverse("events:detail", kwargs={"slug": event.slug}))
    response = HttpResponse(event_ics(event=event, url=url), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{event.slug}.ics"'
    return response


@require_safe
def artist_detail(request: HttpRequest, slug: str) -> HttpResponse:
    artist = selectors.artist_get(slug=slug)
    if artist is None:
        raise Http404("No such artist")
    events = selectors.event_list_for_artist(artist=artist)[:UPCOMING_LIMIT]
    return render(request, "events/artist_detail.html", {"artist": artist, "events": events})


@require_safe
def venue_detail(request: HttpRequest, slug: str) -> HttpResponse:
    venue = selectors.venue_get(slug=slug)
    if venue is None:
        raise Http404("No such venue")
    events = selectors.event_list_for_venue(venue=venue)[:UPCOMING_LIMIT]
    return render(request, "events/venue_detail.html", {"venue": venue, "events": events})
