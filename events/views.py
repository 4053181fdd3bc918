"""The catalogue's pages: home, the event list, event, artist and venue pages, an event's .ics file.

Views only call selectors and page helpers (events.pages, events.fragments, events.jsonld, events.ics)
and render. The event page and the event list are put together from cached parts (events.fragments):
ticket states and seats left are then at most AVAILABILITY_TTL (5) seconds old, catalogue edits show at
once (tags); what differs per visitor (nonce, CSRF token, account menu, draft banner) is rendered per
request.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe
from django_htmx.http import push_url
from django_htmx.middleware import HtmxDetails

from events import selectors
from events.fragments import APPEND_TARGET, event_list_fragment, event_page_parts
from events.ics import event_ics
from events.models import Event


class HtmxHttpRequest(HttpRequest):
    """A request through django-htmx's middleware (for the type checker)."""

    htmx: HtmxDetails


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
    """Search and filters, all in the query string; htmx gets the results (or the next page) only, with
    the pushed URL. "Load more" targets APPEND_TARGET; any other htmx request gets the results."""
    # htmx restoring history it had no snapshot of asks for the whole page, like a browser would.
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    mode = ("more" if request.htmx.target == APPEND_TARGET else "results") if partial else "page"
    fragment = event_list_fragment(params=request.GET, mode=mode, cacheable=not request.user.is_authenticated)
    if mode == "page":
        response = render(request, "events/event_list.html", {"fragment": fragment})
    else:
        # The address bar shows the canonical query (no empty or ignored parameters), so it can be shared.
        response = push_url(HttpResponse(fragment.html), reverse("events:list") + fragment.url)
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
    parts = event_page_parts(request=request, slug=slug)
    if parts is None:
        raise Http404("No such event")
    return render(request, "events/event_detail.html", {"parts": parts})


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
