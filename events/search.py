"""Catalogue search: the documents and the queries.

**Documents.** On PostgreSQL every event carries

- ``search_vector``: ``setweight(title + artist names, 'A') || setweight(venue name + city, 'B') ||
  setweight(description, 'C')``, built with the ``simple`` configuration (no stemming, no stop words: band
  names are not English) over ``gh_unaccent(lower(...))``, so case and accents never matter;
- ``search_text``: ``gh_unaccent(lower("title artist names venue city"))``, for trigram (typo) matching.

Artists and venues carry ``search_text`` only (the name; name + city). ``gh_unaccent`` is the IMMUTABLE
wrapper around ``unaccent`` created by migration ``events.0002_search``, with the GIN indexes. The
``search_refresh_*`` functions recompute documents in one UPDATE per call; ``events.receivers`` runs
them after every commit that touched an event, its lineup, an artist or a venue. Writes that send no
signals (``QuerySet.update``, ``bulk_create``) must call them; ``search_rebuild`` recomputes everything.

On SQLite (``make run``) only ``search_text`` exists, computed in Python by ``search_normalize`` (the
twin of ``gh_unaccent(lower(...))``), and queries fall back to ``icontains``.

**Queries** (``event_search``) use ``websearch_to_tsquery`` syntax: words, ``"quoted phrases"``,
``-excluded`` words and ``or``. An event matches when

1. its vector matches the whole query (exact words, anywhere, description included), or
2. every plain word (any of them, if the query says ``or``) matches exactly anywhere *or* fuzzily
   (pg_trgm word similarity at least ``pg_trgm.word_similarity_threshold``, 0.6 by default) in
   title/artists/venue/city, and the vector matches the query's phrases and exclusions. This is what
   finds "Beyoncé" for "beyonse".

The rank is ``ts_rank_cd`` (weights D 0.1, C 0.2, B 0.4, A 1.0: title/artists > venue/city >
description) plus ``SIMILARITY_WEIGHT`` x the mean word similarity of the plain words to
``search_text`` (which lifts typo matches above nothing, but never above the same words spelt right).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramSimilarity, TrigramWordSimilarity
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import (
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Prefetch,
    Q,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.functions import Coalesce, Concat, Lower
from django.utils import timezone

from events.exceptions import SearchQueryTooLong
from events.models import Artist, Event, Lineup, Venue

MAX_QUERY_LENGTH = 200
SEARCH_CONFIG = "simple"
# How much the mean trigram word similarity (0..1) adds to ts_rank_cd (0..~1 per matched word).
SIMILARITY_WEIGHT = 0.5
# A description longer than this is indexed up to here (a tsvector must stay under 1 MB).
DESCRIPTION_MAX_CHARS = 100_000
SEARCH_ALL_MAX_LIMIT = 50

# Letters that unaccent's rules map but Unicode decomposition does not.
_LETTERS = str.maketrans(
    {"ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "\u0131": "i"}
)
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


class GhUnaccent(Func):
    """``gh_unaccent(text)``: the IMMUTABLE unaccent wrapper from migration 0002 (PostgreSQL only)."""

    function = "gh_unaccent"
    output_field = TextField()


def _norm(text: str) -> GhUnaccent:
    return GhUnaccent(Lower(Value(text)))


def search_normalize(text: str) -> str:
    """Lowercase, strip accents and collapse whitespace: the Python twin of ``gh_unaccent(lower(...))``,
    for SQLite documents and queries (``"Café  TACVBA"`` -> ``"cafe tacvba"``)."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_LETTERS))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(unicodedata.normalize("NFC", stripped).split())


def event_search_text(*, title: str, artist_names: Sequence[str], venue_name: str, city: str) -> str:
    """An event's ``search_text`` computed in Python (SQLite)."""
    return search_normalize(" ".join([title, *artist_names, venue_name, city]))


# --- Queries --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedQuery:
    """A websearch-style query split the way ``websearch_to_tsquery`` reads it."""

    words: tuple[str, ...] = ()  # plain words: matched exactly or fuzzily
    phrases: tuple[str, ...] = ()  # "quoted phrases": matched exactly, in order
    excluded: tuple[str, ...] = ()  # -word and -"phrase": must not occur
    has_or: bool = False  # "a or b": the exact branch handles it; the fuzzy one sees the words

    def constraint_text(self) -> str:
        """The phrases and exclusions as websearch syntax (what every fuzzy match must also satisfy)."""
        parts = [f'"{phrase}"' for phrase in self.phrases]
        parts += [f'-"{term}"' if " " in term else f"-{term}" for term in self.excluded]
        return " ".join(parts)


def _has_lexeme(term: str) -> bool:
    return any(ch.isalnum() for ch in term)


def search_parse(q: str) -> ParsedQuery:
    words: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []
    has_or = False
    for match in _TOKEN.finditer(q):
        negated, quoted, bare = match.group(1), match.group(2), match.group(3)
        if quoted is not None:
            phrase = " ".join(quoted.split())
            if _has_lexeme(phrase):
                (excluded if negated else phrases).append(phrase)
            continue
        term = bare.replace('"', "")
        if term.lower() == "or":
            has_or = True
        elif term.startswith("-") and _has_lexeme(term[1:]):
            excluded.append(term[1:])
        elif _has_lexeme(term):
            words.append(term)
    return ParsedQuery(tuple(words), tuple(phrases), tuple(excluded), has_or)


def search_clean_query(q: str) -> str:
    """The query without control characters and surrounding space; raises ``SearchQueryTooLong``."""
    if len(q) > MAX_QUERY_LENGTH:
        raise SearchQueryTooLong(extra={"max_length": MAX_QUERY_LENGTH})
    # PostgreSQL refuses NUL in text; other control characters are never meant.
    return "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in q).strip()


def _is_postgresql(queryset: QuerySet[Any]) -> bool:
    return connections[queryset.db].vendor == "postgresql"


def event_search(queryset: QuerySet[Event], q: str) -> QuerySet[Event]:
    """``queryset`` narrowed to the events matching ``q``, annotated with ``search_rank`` and ordered
    best first (then soonest). An empty query returns ``queryset`` unchanged. On SQLite every word must
    occur in ``search_text`` (no description, no typos) and the order is soonest first."""
    q = search_clean_query(q)
    if not q:
        return queryset
    parsed = search_parse(q)
    if not _is_postgresql(queryset):
        return _event_search_fallback(queryset, parsed)

    full = SearchQuery(_norm(q), config=SEARCH_CONFIG, search_type="websearch")
    matches = Q(search_vector=full)
    words = list(parsed.words)
    if words:
        constraints = parsed.constraint_text()
        # With one word and nothing else, its exact match is the first branch already.
        exact_per_word = len(words) > 1 or bool(constraints) or parsed.has_or
        fuzzy = Q()
        for word in words:
            word_matches = Q(search_text__trigram_word_similar=_norm(word))
            if exact_per_word:
                word_matches |= Q(search_vector=SearchQuery(_norm(word), config=SEARCH_CONFIG))
            # "a or b": any word will do (the exact branch keeps the precise meaning of mixed queries).
            fuzzy = (fuzzy | word_matches) if parsed.has_or and fuzzy else (fuzzy & word_matches)
        if constraints:
            fuzzy &= Q(
                search_vector=SearchQuery(_norm(constraints), config=SEARCH_CONFIG, search_type="websearch")
            )
        matches |= fuzzy
    rank = ExpressionWrapper(
        Coalesce(SearchRank(F("search_vector"), full, cover_density=True), Value(0.0))
        + Value(SIMILARITY_WEIGHT) * _mean_word_similarity(words),
        output_field=FloatField(),
    )
    return queryset.filter(matches).annotate(search_rank=rank).order_by("-search_rank", "starts_at", "id")


def _mean_word_similarity(words: Sequence[str]) -> ExpressionWrapper | Value:
    """Mean of ``word_similarity(word, search_text)`` over the words (0 without words)."""
    if not words:
        return Value(0.0)
    # django-stubs type the first argument as str; Django takes any expression (the normalised word).
    similarities = [TrigramWordSimilarity(_norm(word), "search_text") for word in words]  # type: ignore[arg-type]
    total: Any = similarities[0]
    for similarity in similarities[1:]:
        total = total + similarity
    return ExpressionWrapper(total / Value(float(len(words))), output_field=FloatField())


def _event_search_fallback(queryset: QuerySet[Event], parsed: ParsedQuery) -> QuerySet[Event]:
    required = [search_normalize(term) for term in (*parsed.words, *parsed.phrases)]
    if not required and not parsed.excluded:
        return queryset.none()  # punctuation only: PostgreSQL finds nothing either
    condition = Q()
    for term in required:
        term_q = Q(search_text__icontains=term)
        condition = (condition | term_q) if parsed.has_or and condition else (condition & term_q)
    queryset = queryset.filter(condition)
    for term in parsed.excluded:
        queryset = queryset.exclude(search_text__icontains=search_normalize(term))
    return queryset.annotate(search_rank=Value(0.0, output_field=FloatField())).order_by("starts_at", "id")


def _plain_terms(q: str) -> list[str]:
    """Every term of ``q`` as a plain word (artist and venue search know no operators)."""
    return [term.strip('"-') for term in q.replace('"', " ").split() if _has_lexeme(term)]


def _name_search(queryset: QuerySet, q: str, *, order: Sequence[str]) -> QuerySet:
    q = search_clean_query(q)
    if not q:
        return queryset
    terms = _plain_terms(q)
    if not terms:
        return queryset.none()
    if not _is_postgresql(queryset):
        for term in terms:
            queryset = queryset.filter(search_text__icontains=search_normalize(term))
        return queryset.annotate(search_rank=Value(0.0, output_field=FloatField())).order_by(*order)
    condition = Q()
    for term in terms:
        condition &= Q(search_text__trigram_word_similar=_norm(term)) | Q(search_text__contains=_norm(term))
    # Mean word similarity finds the right rows; whole-string similarity puts "Queen" before
    # "Queens of the Stone Age" for "queen".
    rank = ExpressionWrapper(
        _mean_word_similarity(terms) + Value(0.5) * TrigramSimilarity("search_text", _norm(" ".join(terms))),  # type: ignore[arg-type]
        output_field=FloatField(),
    )
    return queryset.filter(condition).annotate(search_rank=rank).order_by("-search_rank", *order)


def artist_search(q: str, *, queryset: QuerySet[Artist] | None = None) -> QuerySet[Artist]:
    """Artists whose name matches every word of ``q`` (typos and accents forgiven on PostgreSQL),
    annotated with ``search_rank``, best first. An empty query returns every artist."""
    base = Artist.objects.all() if queryset is None else queryset
    return _name_search(base, q, order=("name", "id"))


def venue_search(q: str, *, queryset: QuerySet[Venue] | None = None) -> QuerySet[Venue]:
    """Venues whose name or city matches every word of ``q``, annotated with ``search_rank``, best first.
    An empty query returns every venue."""
    base = Venue.objects.all() if queryset is None else queryset
    return _name_search(base, q, order=("name", "id"))


@dataclass(frozen=True)
class SearchResults:
    """What the search page and ``/api/v1/search`` show: a few of each kind, best first."""

    query: str
    events: list[Event] = field(default_factory=list)
    artists: list[Artist] = field(default_factory=list)
    venues: list[Venue] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.events or self.artists or self.venues)


def search_all(*, q: str, limit: int = 5) -> SearchResults:
    """The best ``limit`` upcoming public events (any status but draft, venue joined, lineup with artists
    prefetched), artists and venues for ``q``. An empty query finds nothing. Four queries."""
    if not 1 <= limit <= SEARCH_ALL_MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {SEARCH_ALL_MAX_LIMIT}")
    q = search_clean_query(q)
    if not q:
        return SearchResults(query=q)
    # Buyers search for shows they can still go to: upcoming public events only.
    public = (
        Event.objects.exclude(status=Event.Status.DRAFT)
        .filter(starts_at__gte=timezone.now())
        .select_related("venue")
        .prefetch_related(
            Prefetch("lineup", queryset=Lineup.objects.select_related("artist").order_by("position", "id"))
        )
    )
    return SearchResults(
        query=q,
        events=list(event_search(public, q)[:limit]),
        artists=list(artist_search(q)[:limit]),
        venues=list(venue_search(q)[:limit]),
    )


# --- Keeping documents current --------------------------------------------------------------------------

# One statement for any number of events; rows whose documents did not change are not rewritten.
_EVENT_REFRESH_SQL = """
WITH doc AS (
    SELECT e.id,
           gh_unaccent(lower(concat_ws(' ', e.title, artists.names))) AS head,
           gh_unaccent(lower(concat_ws(' ', v.name, v.city))) AS place,
           gh_unaccent(lower(left(e.description, %(description_max)s))) AS body
    FROM events_event AS e
    JOIN events_venue AS v ON v.id = e.venue_id
    LEFT JOIN LATERAL (
        SELECT string_agg(a.name, ' ' ORDER BY l.position, l.id) AS names
        FROM events_lineup AS l
        JOIN events_artist AS a ON a.id = l.artist_id
        WHERE l.event_id = e.id
    ) AS artists ON true
    WHERE e.id = ANY(%(ids)s)
), fresh AS (
    SELECT id,
           setweight(to_tsvector('simple', head), 'A')
           || setweight(to_tsvector('simple', place), 'B')
           || setweight(to_tsvector('simple', body), 'C') AS vector,
           concat_ws(' ', head, place) AS text
    FROM doc
)
UPDATE events_event AS t
SET search_vector = fresh.vector, search_text = fresh.text
FROM fresh
WHERE t.id = fresh.id
  AND (t.search_vector IS DISTINCT FROM fresh.vector OR t.search_text IS DISTINCT FROM fresh.text)
"""


def _ids(values: Iterable[int]) -> list[int]:
    return sorted({int(value) for value in values})


def search_refresh_events(*, event_ids: Iterable[int], using: str = DEFAULT_DB_ALIAS) -> int:
    """Recompute the search documents of these events (ids that no longer exist are ignored).
    Returns how many rows were rewritten."""
    ids = _ids(event_ids)
    if not ids:
        return 0
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_EVENT_REFRESH_SQL, {"ids": ids, "description_max": DESCRIPTION_MAX_CHARS})
            return cursor.rowcount
    events = list(
        Event.objects.using(using)
        .filter(pk__in=ids)
        .select_related("venue")
        .prefetch_related(
            Prefetch("lineup", queryset=Lineup.objects.select_related("artist").order_by("position", "id"))
        )
        .only("id", "title", "search_text", "venue__name", "venue__city")
    )
    changed = []
    for event in events:
        text = event_search_text(
            title=event.title,
            artist_names=[slot.artist.name for slot in event.lineup.all()],
            venue_name=event.venue.name,
            city=event.venue.city,
        )
        if text != event.search_text:
            event.search_text = text
            changed.append(event)
    return Event.objects.using(using).bulk_update(changed, ["search_text"]) if changed else 0


def search_refresh_artists(*, artist_ids: Iterable[int], using: str = DEFAULT_DB_ALIAS) -> int:
    """Recompute the ``search_text`` of these artists (their name)."""
    ids = _ids(artist_ids)
    if not ids:
        return 0
    artists = Artist.objects.using(using).filter(pk__in=ids)
    if connections[using].vendor == "postgresql":
        document = GhUnaccent(Lower("name"))
        return artists.exclude(search_text=document).update(search_text=document)
    changed = []
    for artist in artists.only("id", "name", "search_text"):
        text = search_normalize(artist.name)
        if text != artist.search_text:
            artist.search_text = text
            changed.append(artist)
    return Artist.objects.using(using).bulk_update(changed, ["search_text"]) if changed else 0


def search_refresh_venues(*, venue_ids: Iterable[int], using: str = DEFAULT_DB_ALIAS) -> int:
    """Recompute the ``search_text`` of these venues (name and city)."""
    ids = _ids(venue_ids)
    if not ids:
        return 0
    venues = Venue.objects.using(using).filter(pk__in=ids)
    if connections[using].vendor == "postgresql":
        document = GhUnaccent(Lower(Concat("name", Value(" "), "city", output_field=TextField())))
        return venues.exclude(search_text=document).update(search_text=document)
    changed = []
    for venue in venues.only("id", "name", "city", "search_text"):
        text = search_normalize(f"{venue.name} {venue.city}")
        if text != venue.search_text:
            venue.search_text = text
            changed.append(venue)
    return Venue.objects.using(using).bulk_update(changed, ["search_text"]) if changed else 0


def search_rebuild(*, batch_size: int = 1000, using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Recompute every search document, in batches (after bulk imports or a change of the documents).
    Returns how many rows of each kind were rewritten."""
    counts = {"artists": 0, "venues": 0, "events": 0}
    for label, model, refresh, argument in (
        ("artists", Artist, search_refresh_artists, "artist_ids"),
        ("venues", Venue, search_refresh_venues, "venue_ids"),
        ("events", Event, search_refresh_events, "event_ids"),
    ):
        ids = list(model.objects.using(using).order_by("pk").values_list("pk", flat=True))  # type: ignore[attr-defined]
        for start in range(0, len(ids), batch_size):
            counts[label] += refresh(**{argument: ids[start : start + batch_size]}, using=using)  # type: ignore[operator]
    return counts
