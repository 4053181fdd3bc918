# Hand-written: PostgreSQL search objects (extensions, the IMMUTABLE unaccent wrapper, GIN indexes) and a
# backfill of the search documents. On SQLite (`make run`) the objects are skipped and only search_text
# is backfilled. The indexes are not in the models' Meta on purpose: opclass indexes on PostgreSQL-only
# extensions would not build on SQLite.

import unicodedata

from django.db import migrations

INDEXES = [
    # (name, table, column, opclass or "")
    ("events_event_search_vector_gin", "events_event", "search_vector", ""),
    ("events_event_search_text_trgm", "events_event", "search_text", "gin_trgm_ops"),
    ("events_artist_search_text_trgm", "events_artist", "search_text", "gin_trgm_ops"),
    ("events_venue_search_text_trgm", "events_venue", "search_text", "gin_trgm_ops"),
]


def _extension_schema(cursor, name):
    cursor.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = %s",
        [name],
    )
    return cursor.fetchone()[0]


def create_search_objects(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    # Both are trusted extensions (PostgreSQL 13+): a database owner may create them.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    with schema_editor.connection.cursor() as cursor:
        unaccent_schema = quote(_extension_schema(cursor, "unaccent"))
        trgm_schema = quote(_extension_schema(cursor, "pg_trgm"))
    # unaccent() is only STABLE (its dictionary could change); the wrapper promises IMMUTABLE so the planner
    # folds it on constants (the query) and it may be used in index expressions. A SQL-standard body is
    # bound at creation: no search_path surprises, and DROP EXTENSION unaccent must name it.
    schema_editor.execute(
        "CREATE OR REPLACE FUNCTION gh_unaccent(text) RETURNS text "
        "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE "
        f"RETURN {unaccent_schema}.unaccent('{unaccent_schema}.unaccent'::regdictionary, $1)"
    )
    for name, table, column, opclass in INDEXES:
        ops = f" {trgm_schema}.{opclass}" if opclass else ""
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(table)} USING gin ({quote(column)}{ops})"
        )


def drop_search_objects(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column, _opclass in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")
    schema_editor.execute("DROP FUNCTION IF EXISTS gh_unaccent(text)")
    # The extensions stay: other objects (or a DBA) may rely on them, and they cost nothing.


# A frozen copy of events.search's documents (migrations must not import app code that will change).
BACKFILL_SQL = """
WITH doc AS (
    SELECT e.id,
           gh_unaccent(lower(concat_ws(' ', e.title, artists.names))) AS head,
           gh_unaccent(lower(concat_ws(' ', v.name, v.city))) AS place,
           gh_unaccent(lower(left(e.description, 100000))) AS body
    FROM events_event AS e
    JOIN events_venue AS v ON v.id = e.venue_id
    LEFT JOIN LATERAL (
        SELECT string_agg(a.name, ' ' ORDER BY l.position, l.id) AS names
        FROM events_lineup AS l JOIN events_artist AS a ON a.id = l.artist_id
        WHERE l.event_id = e.id
    ) AS artists ON true
)
UPDATE events_event AS t
SET search_vector = setweight(to_tsvector('simple', doc.head), 'A')
                    || setweight(to_tsvector('simple', doc.place), 'B')
                    || setweight(to_tsvector('simple', doc.body), 'C'),
    search_text = concat_ws(' ', doc.head, doc.place)
FROM doc
WHERE t.id = doc.id
"""

_LETTERS = str.maketrans(
    {"ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "\u0131": "i"}
)


def _normalize(text):
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_LETTERS))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(unicodedata.normalize("NFC", stripped).split())


def backfill_search_documents(apps, schema_editor):
    alias = schema_editor.connection.alias
    Artist = apps.get_model("events", "Artist")
    Venue = apps.get_model("events", "Venue")
    Event = apps.get_model("events", "Event")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("UPDATE events_artist SET search_text = gh_unaccent(lower(name))")
        schema_editor.execute(
            "UPDATE events_venue SET search_text = gh_unaccent(lower(concat_ws(' ', name, city)))"
        )
        schema_editor.execute(BACKFILL_SQL)
        return
    for artist in Artist.objects.using(alias).only("id", "name"):
        Artist.objects.using(alias).filter(pk=artist.pk).update(search_text=_normalize(artist.name))
    for venue in Venue.objects.using(alias).only("id", "name", "city"):
        Venue.objects.using(alias).filter(pk=venue.pk).update(
            search_text=_normalize(f"{venue.name} {venue.city}")
        )
    Lineup = apps.get_model("events", "Lineup")
    names = {}
    for event_id, artist_name in (
        Lineup.objects.using(alias).order_by("position", "id").values_list("event_id", "artist__name")
    ):
        names.setdefault(event_id, []).append(artist_name)
    for event in (
        Event.objects.using(alias).select_related("venue").only("id", "title", "venue__name", "venue__city")
    ):
        text = " ".join([event.title, *names.get(event.pk, []), event.venue.name, event.venue.city])
        Event.objects.using(alias).filter(pk=event.pk).update(search_text=_normalize(text))


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0001_catalogue"),
    ]

    operations = [
        migrations.RunPython(create_search_objects, drop_search_objects),
        # Documents of rows that existed before the receivers did; nothing to undo on the way back.
        migrations.RunPython(backfill_search_documents, migrations.RunPython.noop),
    ]
