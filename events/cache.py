"""The catalogue's cache tags and TTLs (the tagged cache itself is ``grasshopper.lib.cache``).

Tag what a cached selector *shows*, and the receivers in ``events.receivers`` bump, after commit:

- ``events``: any list of events. Bumped by any change to an event, its lineup, genres or ticket types,
  and by artist, venue, organizer or genre changes that show on events.
- ``event:<id>``: one event's page (``event_tag``). Bumped when the event, its lineup, genres or ticket
  types change, and when one of its artists or its venue is edited.
- ``artists`` / ``artist:<id>``: artist lists / one artist's page. ``artist:<id>`` is also bumped when an
  event on which the artist plays changes (artist pages list their events).
- ``venues`` / ``venue:<id>``: venue lists / one venue's page. ``venue:<id>`` is also bumped when one of
  its events changes.
- ``genres``: genre lists (filters, menus).
- ``search``: cached search results (the event list's, see ``events.fragments``; ``search_all`` is not
  cached). Bumped with every search document.

What is cached under them (``events.fragments``): an event page's catalogue part under ``event:<id>`` and
``genres`` (``CATALOGUE_TTL``), its tickets part under the same tags and checked against the database
every ``AVAILABILITY_TTL`` seconds; the event list (search included) under ``events``, ``venues``,
``genres`` and ``search``, for ``LIST_TTL`` seconds, with the cards' prices and ticket states for
``AVAILABILITY_TTL`` seconds. The filter menus are cached selectors (``events.pages``).

Not covered: seat counters (``sold``/``held``) change by conditional UPDATEs that send no signal, so
anything showing availability is cached for at most ``AVAILABILITY_TTL`` seconds and is never trusted at
checkout (the inventory services re-check under lock). Writes that skip signals (``QuerySet.update``,
``bulk_create``) must call ``grasshopper.lib.cache.tag_bump`` themselves.
"""

from collections.abc import Iterable

TAG_EVENTS = "events"
TAG_ARTISTS = "artists"
TAG_VENUES = "venues"
TAG_GENRES = "genres"
TAG_SEARCH = "search"

# Seconds. Availability (seats left, "sold out", on-sale state) may be at most this stale.
AVAILABILITY_TTL = 5
# Seconds. Catalogue reads that do not show availability; tags make changes visible at once anyway.
CATALOGUE_TTL = 600


def event_tag(event_id: int) -> str:
    return f"event:{event_id}"


def artist_tag(artist_id: int) -> str:
    return f"artist:{artist_id}"


def venue_tag(venue_id: int) -> str:
    return f"venue:{venue_id}"


def catalogue_tags(
    *,
    event_ids: Iterable[int] = (),
    artist_ids: Iterable[int] = (),
    venue_ids: Iterable[int] = (),
    genres: bool = False,
) -> set[str]:
    """The tags to bump when these events, artists and venues changed (lists included)."""
    event_ids, artist_ids, venue_ids = set(event_ids), set(artist_ids), set(venue_ids)
    tags: set[str] = set()
    if event_ids:
        tags |= {TAG_EVENTS, TAG_SEARCH, *(event_tag(pk) for pk in event_ids)}
    if artist_ids:
        tags |= {TAG_ARTISTS, TAG_SEARCH, *(artist_tag(pk) for pk in artist_ids)}
    if venue_ids:
        tags |= {TAG_VENUES, TAG_SEARCH, *(venue_tag(pk) for pk in venue_ids)}
    if genres:
        tags |= {TAG_GENRES, TAG_EVENTS}
    return tags
