"""Catalogue search: the documents and the queries.

**Documents.** On PostgreSQL every event carries

- ``search_vector``: ``setweight(title + artist names, 'A') || setweight(venue name + city, 'B') ||
  setweight(description, 'C')``, built with the ``simple`` configuration (no stemming, no stop words: band
  names are not English) over ``gh_unaccent(lower(...))``, so case and accents never matter;
- ``search_text``: ``gh_unaccent(lower("title artist names venue city"))``: the SQLite fallback's document
  (on PostgreSQL events are found through ``search_vector`` and the vocabulary below).

Artists and venues carry ``search_text`` only (the name; name + city). ``gh_unaccent`` is the IMMUTABLE
wrapper around ``unaccent`` created by migration ``events.0002_search``, with the GIN indexes. The
``search_refresh_*`` functions recompute documents in one UPDATE per call; ``events.receivers`` runs
them after every commit that touched an event, its lineup, an artist or a venue. Writes that send no
signals (``QuerySet.update``, ``bulk_create``) must call them; ``search_rebuild`` recomputes everything.
``search_refresh_events`` also adds the new words of weights A and B to the vocabulary (``SearchWord``,
with a trigram index, see below); ``search_rebuild`` drops the words no document has any more.

On SQLite (``make run``) only ``search_text`` exists, computed in Python by ``search_normalize`` (the
twin of ``gh_unaccent(lower(...))``), and queries fall back to ``icontains``.

**Queries** (``event_search``) use ``websearch_to_tsquery`` syntax: words, ``"quoted phrases"``,
``-excluded`` words and ``or``. An event matches when

1. its vector matches the whole query (exact words, anywhere, description included), or
2. every plain word (any of them, if the query says ``or``) matches exactly anywhere *or* as one of its
   corrections in title/artists/venue/city (weights A and B), and the vector matches the query's phrases
   and exclusions. This is what finds "Beyoncé" for "beyonse".

A word's **corrections** come from the vocabulary (``SearchWord``: every word of weights A and B of any
document): up to ``FUZZY_ALTERNATIVES`` words whose pg_trgm word similarity to it is at least
``pg_trgm.word_similarity_threshold`` (0.6 by default), closest first, found through the vocabulary's
trigram index in one small query. The events are then found through the GIN index on ``search_vector``
alone: no row is compared letter by letter, so a misspelt city costs what the right spelling does. (The
first version compared every candidate's ``search_text`` with ``word_similarity()``: some 10 µs a row,
tens of milliseconds for a word that matches a city.)

The rank is ``ts_rank_cd`` (weights D 0.1, C 0.2, B 0.4, A 1.0: title/artists > venue/city >
description) plus ``SIMILARITY_WEIGHT`` x the mean, over the plain words, of the similarity of the closest
correction the event has in title/artists/venue/city (1.0 for the exact word). This lifts typo matches
above nothing, but never above the same words spelt right.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.search import (
    SearchQuery,
    SearchQueryCombinable,
    SearchQueryField,
    SearchRank,
    TrigramSimilarity,
    TrigramWordSimilarity,
)
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import (
    BooleanField,
    Case,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Prefetch,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
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
# A misspelt query word is tried as at most this many vocabulary words (bounded work for short words,
# which resemble many), in these weights of the documents: title and artists (A), venue and city (B).
FUZZY_ALTERNATIVES = 10
FUZZY_WEIGHTS = "AB"

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
    occur in ``search_text`` (no description, no typos) and the order is soonest first.

    On PostgreSQL this runs one small query at once (the query words' corrections, from the vocabulary);
    the events are read when the returned queryset is."""
    q = search_clean_query(q)
    if not q:
        return queryset
    parsed = search_parse(q)
    if not _is_postgresql(queryset):
        return _event_search_fallback(queryset, parsed)

    full = SearchQuery(_norm(q), config=SEARCH_CONFIG, search_type="websearch")
    matches = Q(search_vector=full)
    words = list(parsed.words)
    word_scores: list[Case] = []
    if words:
        corrections = search_corrections(words, using=queryset.db)
        fuzzy: SearchQueryCombinable | None = None
        for word, alternatives in zip(words, corrections, strict=True):
            # The word itself anywhere (description included), or one of its corrections in the title,
            # artists, venue or city.
            word_query: SearchQueryCombinable = SearchQuery(_norm(word), config=SEARCH_CONFIG)
            if alternatives:
                word_query = word_query | TsQueryLiteral(
                    " | ".join(_tsquery_lexeme(lexeme, weights=FUZZY_WEIGHTS) for lexeme, _ in alternatives)
                )
            # "a or b": any word will do (the exact branch keeps the precise meaning of mixed queries).
            if fuzzy is None:
                fuzzy = word_query
            elif parsed.has_or:
                fuzzy = fuzzy | word_query
            else:
                fuzzy = fuzzy & word_query
            word_scores.append(_word_score(alternatives))
        constraints = parsed.constraint_text()
        if constraints and fuzzy is not None:
            fuzzy = fuzzy & SearchQuery(_norm(constraints), config=SEARCH_CONFIG, search_type="websearch")
        if fuzzy is not None:
            matches |= Q(TsMatch(F("search_vector"), fuzzy))
    rank = ExpressionWrapper(
        Coalesce(SearchRank(F("search_vector"), full, cover_density=True), Value(0.0))
        + Value(SIMILARITY_WEIGHT) * _mean(word_scores),
        output_field=FloatField(),
    )
    return queryset.filter(matches).annotate(search_rank=rank).order_by("-search_rank", "starts_at", "id")


# As django.contrib.postgres.search.SearchQuery is (its stubs' two __or__ disagree, hence the ignore).
class TsQueryLiteral(SearchQueryCombinable, Func):  # type: ignore[misc]
    """A ``tsquery`` written in its own syntax (``'berlin':AB | 'berliner':AB``): lexemes are taken as they
    are, not parsed or normalised again. Combine it with ``SearchQuery`` using ``|`` and ``&``."""

    template = "%(expressions)s::tsquery"
    output_field = SearchQueryField()
    config = None

    def __init__(self, text: str) -> None:
        super().__init__(Value(text))


class TsMatch(Func):
    """``vector @@ query`` as a boolean expression (for ``filter()`` and ``When()``)."""

    arg_joiner = " @@ "
    template = "(%(expressions)s)"
    output_field = BooleanField()


def _tsquery_lexeme(lexeme: str, *, weights: str = "") -> str:
    """One quoted lexeme of the tsquery syntax (quotes doubled, backslashes escaped), with weights."""
    quoted = "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"
    return f"{quoted}:{weights}" if weights else quoted


def _word_score(alternatives: Sequence[tuple[str, float]]) -> Case:
    """How well a document matches one query word: the word similarity of the closest of its
    ``alternatives`` (best first) in the title, artists, venue or city, else 0."""
    return Case(
        *(
            When(
                TsMatch(F("search_vector"), TsQueryLiteral(_tsquery_lexeme(lexeme, weights=FUZZY_WEIGHTS))),
                then=Value(similarity),
            )
            for lexeme, similarity in alternatives
        ),
        default=Value(0.0),
        output_field=FloatField(),
    )


def _mean(scores: Sequence[Case]) -> ExpressionWrapper | Value:
    if not scores:
        return Value(0.0)
    total: Any = scores[0]
    for score in scores[1:]:
        total = total + score
    return ExpressionWrapper(total / Value(float(len(scores))), output_field=FloatField())


# For each query word (in order), its closest vocabulary words: pg_trgm's word similarity of the
# normalised query word to the vocabulary word at least pg_trgm.word_similarity_threshold (the %> operator,
# answered by the trigram index), closest first, whole-word similarity breaking ties (prefer "rosa" to
# "rosalind" for "ros").
_CORRECTIONS_SQL = """
SELECT q.position, v.word, word_similarity(q.word, v.word)
FROM (
    SELECT gh_unaccent(lower(raw)) AS word, position
    FROM unnest(%(words)s::text[]) WITH ORDINALITY AS t (raw, position)
) AS q
CROSS JOIN LATERAL (
    SELECT w.word FROM events_searchword AS w
    WHERE w.word %%> q.word
    ORDER BY word_similarity(q.word, w.word) DESC, similarity(q.word, w.word) DESC, w.word
    LIMIT %(limit)s
) AS v
ORDER BY q.position, 3 DESC, similarity(q.word, v.word) DESC, v.word
"""


def search_corrections(
    words: Sequence[str], *, limit: int = FUZZY_ALTERNATIVES, using: str = DEFAULT_DB_ALIAS
) -> list[list[tuple[str, float]]]:
    """For each word, up to ``limit`` vocabulary words (``SearchWord``) it may be a misspelling, a prefix
    or the exact spelling of, with their word similarity, closest first (the word itself, if known,
    scores 1.0). One query for all the words; PostgreSQL only."""
    found: list[list[tuple[str, float]]] = [[] for _ in words]
    if not words:
        return found
    with connections[using].cursor() as cursor:
        cursor.execute(_CORRECTIONS_SQL, {"words": list(words), "limit": limit})
        for position, word, similarity in cursor.fetchall():
            found[position - 1].append((word, round(float(similarity), 4)))
    return found


def _mean_word_similarity(words: Sequence[str]) -> ExpressionWrapper | Value:
    """Mean of ``word_similarity(word, search_text)`` over the words (0 without words): for artists and
    venues, whose documents are short names."""
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
    prefetched), artists and venues for ``q``. An empty query finds nothing. Five queries (the first
    finds the words' corrections, see ``event_search``)."""
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
), vocabulary AS (
    -- New words of titles, artists, venues and cities join the vocabulary typos are corrected against.
    INSERT INTO events_searchword (word)
    SELECT DISTINCT unnest(tsvector_to_array(ts_filter(vector, '{a,b}'))) FROM fresh
    ON CONFLICT DO NOTHING
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


# Words no event has in its title, artists, venue or city any more (renamed, deleted).
_VOCABULARY_PRUNE_SQL = """
DELETE FROM events_searchword
WHERE word NOT IN (
    SELECT word FROM ts_stat('SELECT ts_filter(search_vector, ''{a,b}'') FROM events_event')
)
"""


def search_prune_vocabulary(*, using: str = DEFAULT_DB_ALIAS) -> int:
    """Drop the vocabulary words no event uses any more (renamed or deleted titles, artists, venues).
    Stale words are harmless but take the place of live ones among a word's corrections. Returns how
    many were dropped; nothing to do on SQLite."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_VOCABULARY_PRUNE_SQL)
        return cursor.rowcount


def search_rebuild(*, batch_size: int = 1000, using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Recompute every search document, in batches (after bulk imports or a change of the documents), and
    prune the vocabulary. Returns how many rows of each kind were rewritten (``words``: dropped)."""
    counts = {"artists": 0, "venues": 0, "events": 0}
    for label, model, refresh, argument in (
        ("artists", Artist, search_refresh_artists, "artist_ids"),
        ("venues", Venue, search_refresh_venues, "venue_ids"),
        ("events", Event, search_refresh_events, "event_ids"),
    ):
        ids = list(model.objects.using(using).order_by("pk").values_list("pk", flat=True))  # type: ignore[attr-defined]
        for start in range(0, len(ids), batch_size):
            counts[label] += refresh(**{argument: ids[start : start + batch_size]}, using=using)  # type: ignore[operator]
    counts["words"] = search_prune_vocabulary(using=using)
    return counts
