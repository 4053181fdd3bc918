"""Keeping derived data current when the catalogue changes: search documents and cache tags.

Receivers only *record* what changed (ids, per database alias, for the current thread) and ask for a
flush after commit. The first flush after a commit takes everything recorded and does, at most:
three UPDATEs for the search documents (events, artists, venues, see ``events.search``), the queries that
find the events of changed artists/venues/organizers and the artists/venues of changed events, and one
``tag_bump``. So an admin save of an event with its lineup inline is one refresh, however many rows the
formsets wrote; later flushes in the same commit find nothing to do.

Nothing is done before commit: a rolled-back change refreshes nothing (what it recorded is flushed
harmlessly with the next commit, from the database as it is then), and a reader cannot re-cache old rows
between our tag bump and the commit. A failing flush is logged by Django (``on_commit(robust=True)``)
and does not turn a saved change into an error page.

Connected in ``EventsConfig.ready()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asgiref.local import Local
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from events.cache import (
    TAG_ARTISTS,
    TAG_EVENTS,
    TAG_GENRES,
    TAG_SEARCH,
    artist_tag,
    catalogue_tags,
    venue_tag,
)
from events.models import Artist, Event, Genre, Lineup, Organizer, TicketType, Venue
from events.search import search_refresh_artists, search_refresh_events, search_refresh_venues
from grasshopper.lib.cache import tag_bump

# Saves limited to other fields (``save(update_fields=[...])``) leave the search documents alone.
EVENT_DOCUMENT_FIELDS = frozenset({"title", "description", "venue", "venue_id"})
ARTIST_DOCUMENT_FIELDS = frozenset({"name"})
VENUE_DOCUMENT_FIELDS = frozenset({"name", "city"})


@dataclass
class _Pending:
    document_events: set[int] = field(default_factory=set)  # refresh these events' documents
    document_artists: set[int] = field(default_factory=set)  # ... these artists' search_text
    document_venues: set[int] = field(default_factory=set)  # ... these venues' search_text
    touched_events: set[int] = field(default_factory=set)  # bump these events' tags (and their pages')
    artists_of_events: set[int] = field(default_factory=set)  # artists whose events' documents changed
    venues_of_events: set[int] = field(default_factory=set)  # venues whose events' documents changed
    organizers_of_events: set[int] = field(default_factory=set)  # organizers whose events show changes
    tags: set[str] = field(default_factory=set)


# Same scoping as Django's connections (per thread, and per alias below).
_local = Local()


def _pending(using: str) -> _Pending:
    by_alias: dict[str, _Pending] | None = getattr(_local, "pending", None)
    if by_alias is None:
        by_alias = _local.pending = {}
    if using not in by_alias:
        by_alias[using] = _Pending()
    return by_alias[using]


def _take(using: str) -> _Pending | None:
    by_alias: dict[str, _Pending] | None = getattr(_local, "pending", None)
    return by_alias.pop(using, None) if by_alias else None


def _schedule(using: str) -> None:
    # One registration per change is cheap; the first callback to run flushes everything recorded.
    # A named function, not functools.partial: robust on_commit logs a failing callback by its __qualname__.
    def flush() -> None:
        flush_catalogue_changes(using=using)

    transaction.on_commit(flush, using=using, robust=True)


def _touches(update_fields: frozenset[str] | None, document_fields: frozenset[str]) -> bool:
    return update_fields is None or not update_fields.isdisjoint(document_fields)


def flush_catalogue_changes(*, using: str) -> None:
    """Refresh the search documents and bump the cache tags of everything recorded on ``using``."""
    pending = _take(using)
    if pending is None:
        return
    event_ids = set(pending.document_events)
    tags = set(pending.tags)
    try:
        if pending.artists_of_events:
            event_ids |= set(
                Lineup.objects.using(using)
                .filter(artist_id__in=pending.artists_of_events)
                .values_list("event_id", flat=True)
            )
        if pending.venues_of_events:
            event_ids |= set(
                Event.objects.using(using)
                .filter(venue_id__in=pending.venues_of_events)
                .values_list("pk", flat=True)
            )
        touched = event_ids | pending.touched_events
        if pending.organizers_of_events:
            touched |= set(
                Event.objects.using(using)
                .filter(organizer_id__in=pending.organizers_of_events)
                .values_list("pk", flat=True)
            )
        search_refresh_artists(artist_ids=pending.document_artists, using=using)
        search_refresh_venues(venue_ids=pending.document_venues, using=using)
        search_refresh_events(event_ids=event_ids, using=using)
        if touched:
            tags |= catalogue_tags(event_ids=touched)
            # Artist and venue pages list their events.
            tags |= {
                venue_tag(pk)
                for pk in Event.objects.using(using).filter(pk__in=touched).values_list("venue_id", flat=True)
            }
            tags |= {
                artist_tag(pk)
                for pk in Lineup.objects.using(using)
                .filter(event_id__in=touched)
                .values_list("artist_id", flat=True)
            }
        if event_ids or pending.document_artists or pending.document_venues:
            tags.add(TAG_SEARCH)
    finally:
        # Even if a refresh failed, what was recorded did change: drop the cached copies.
        if tags:
            tag_bump(*tags)


# --- Receivers --------------------------------------------------------------------------------------------


def event_saved(
    sender: type[Event],
    instance: Event,
    using: str,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    pending = _pending(using)
    if _touches(update_fields, EVENT_DOCUMENT_FIELDS):
        pending.document_events.add(instance.pk)
    pending.touched_events.add(instance.pk)
    _schedule(using)


def event_deleted(sender: type[Event], instance: Event, using: str, **kwargs: Any) -> None:
    # The row is gone: its tags, its venue's page and the lists (its lineup rows report their artists).
    _pending(using).tags.update({*catalogue_tags(event_ids=[instance.pk]), venue_tag(instance.venue_id)})
    _schedule(using)


def lineup_changed(sender: type[Lineup], instance: Lineup, using: str, **kwargs: Any) -> None:
    pending = _pending(using)
    pending.document_events.add(instance.event_id)
    pending.tags.add(artist_tag(instance.artist_id))  # also when the event itself is being deleted
    _schedule(using)


def event_artists_changed(
    sender: type[Lineup],
    instance: Event | Artist,
    action: str,
    reverse: bool,
    pk_set: set[int] | None,
    using: str,
    **kwargs: Any,
) -> None:
    """``event.artists.add/remove/clear`` and ``artist.events...``: bulk writes of Lineup, no post_save."""
    pending = _pending(using)
    if not reverse:  # instance is the event, pk_set the artists
        if action in ("post_add", "post_remove", "post_clear"):
            pending.document_events.add(instance.pk)
            pending.tags.update(artist_tag(pk) for pk in pk_set or ())
            _schedule(using)
        elif action == "pre_clear":
            pending.tags.update(
                artist_tag(pk)
                for pk in Lineup.objects.using(using)
                .filter(event_id=instance.pk)
                .values_list("artist_id", flat=True)
            )
        return
    # instance is the artist, pk_set the events; clear() gives no pk_set, so read them before it runs
    if action == "pre_clear":
        pending.document_events.update(
            Lineup.objects.using(using).filter(artist_id=instance.pk).values_list("event_id", flat=True)
        )
    elif action in ("post_add", "post_remove"):
        pending.document_events.update(pk_set or ())
    if action in ("post_add", "post_remove", "post_clear"):
        pending.tags.add(artist_tag(instance.pk))
        _schedule(using)


def event_genres_changed(
    sender: type[Any],
    instance: Event | Genre,
    action: str,
    reverse: bool,
    pk_set: set[int] | None,
    using: str,
    **kwargs: Any,
) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    pending = _pending(using)
    if reverse:  # genre.events...
        pending.touched_events.update(pk_set or ())
        pending.tags.update({TAG_EVENTS, TAG_GENRES})
    else:
        pending.touched_events.add(instance.pk)
    _schedule(using)


def artist_saved(
    sender: type[Artist],
    instance: Artist,
    created: bool,
    using: str,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    pending = _pending(using)
    if _touches(update_fields, ARTIST_DOCUMENT_FIELDS):
        pending.document_artists.add(instance.pk)
    if not created:
        # Its events show it: their pages go stale, and a rename changes their documents (refreshing the
        # documents of events it did not change rewrites nothing).
        pending.artists_of_events.add(instance.pk)
    pending.tags.update(catalogue_tags(artist_ids=[instance.pk]))
    _schedule(using)


def artist_deleted(sender: type[Artist], instance: Artist, using: str, **kwargs: Any) -> None:
    _pending(using).tags.update(catalogue_tags(artist_ids=[instance.pk]))
    _schedule(using)


def artist_genres_changed(
    sender: type[Any], instance: Artist | Genre, action: str, reverse: bool, using: str, **kwargs: Any
) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    pending = _pending(using)
    if reverse:
        pending.tags.update({TAG_ARTISTS, TAG_GENRES})
    else:
        pending.tags.update(catalogue_tags(artist_ids=[instance.pk]))
    _schedule(using)


def venue_saved(
    sender: type[Venue],
    instance: Venue,
    created: bool,
    using: str,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    pending = _pending(using)
    if _touches(update_fields, VENUE_DOCUMENT_FIELDS):
        pending.document_venues.add(instance.pk)
    if not created:
        # Its events show it (address, access notes): their pages go stale; a rename also changes their
        # documents (refreshing unchanged ones is a no-op).
        pending.venues_of_events.add(instance.pk)
    pending.tags.update(catalogue_tags(venue_ids=[instance.pk]))
    _schedule(using)


def venue_deleted(sender: type[Venue], instance: Venue, using: str, **kwargs: Any) -> None:
    _pending(using).tags.update(catalogue_tags(venue_ids=[instance.pk]))
    _schedule(using)


def ticket_type_changed(sender: type[TicketType], instance: TicketType, using: str, **kwargs: Any) -> None:
    _pending(using).touched_events.add(instance.event_id)
    _schedule(using)


def organizer_changed(sender: type[Organizer], instance: Organizer, using: str, **kwargs: Any) -> None:
    pending = _pending(using)
    pending.organizers_of_events.add(instance.pk)
    pending.tags.add(TAG_EVENTS)
    _schedule(using)


def genre_changed(sender: type[Genre], instance: Genre, using: str, **kwargs: Any) -> None:
    # Lists show genre names and filter by them; event pages keep the old name until their TTL.
    _pending(using).tags.update({TAG_GENRES, TAG_EVENTS, TAG_ARTISTS})
    _schedule(using)


def connect() -> None:
    """Wire the receivers (``EventsConfig.ready``); dispatch_uid makes a second call harmless."""
    wiring: list[tuple[Any, Any, type[Any], str]] = [
        (post_save, event_saved, Event, "event_saved"),
        (post_delete, event_deleted, Event, "event_deleted"),
        (post_save, lineup_changed, Lineup, "lineup_saved"),
        (post_delete, lineup_changed, Lineup, "lineup_deleted"),
        (m2m_changed, event_artists_changed, Event.artists.through, "event_artists_changed"),
        (m2m_changed, event_genres_changed, Event.genres.through, "event_genres_changed"),
        (post_save, artist_saved, Artist, "artist_saved"),
        (post_delete, artist_deleted, Artist, "artist_deleted"),
        (m2m_changed, artist_genres_changed, Artist.genres.through, "artist_genres_changed"),
        (post_save, venue_saved, Venue, "venue_saved"),
        (post_delete, venue_deleted, Venue, "venue_deleted"),
        (post_save, ticket_type_changed, TicketType, "ticket_type_saved"),
        (post_delete, ticket_type_changed, TicketType, "ticket_type_deleted"),
        (post_save, organizer_changed, Organizer, "organizer_saved"),
        (post_delete, organizer_changed, Organizer, "organizer_deleted"),
        (post_save, genre_changed, Genre, "genre_saved"),
        (post_delete, genre_changed, Genre, "genre_deleted"),
    ]
    for signal, receiver, sender, name in wiring:
        signal.connect(receiver, sender=sender, dispatch_uid=f"events.receivers.{name}", weak=False)
