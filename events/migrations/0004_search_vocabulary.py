# The vocabulary that search corrects misspelt words against (events.models.SearchWord), its trigram index
# (PostgreSQL only, like the indexes of 0002: an opclass of an extension would not build on SQLite) and a
# backfill from the documents that exist. The words are the lexemes of weights A and B (title, artists,
# venue, city): the part of a document that typo matching has always covered.

from django.db import migrations, models

INDEX_NAME = "events_searchword_word_trgm"

BACKFILL_SQL = """
INSERT INTO events_searchword (word)
SELECT DISTINCT unnest(tsvector_to_array(ts_filter(search_vector, '{a,b}')))
FROM events_event
WHERE search_vector IS NOT NULL
ON CONFLICT DO NOTHING
"""


def create_index_and_backfill(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'"
        )
        trgm_schema = schema_editor.quote_name(cursor.fetchone()[0])
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(INDEX_NAME)} "
        f"ON events_searchword USING gin (word {trgm_schema}.gin_trgm_ops)"
    )
    schema_editor.execute(BACKFILL_SQL)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(INDEX_NAME)}")


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0003_history_without_search_documents"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchWord",
            fields=[
                ("word", models.TextField(primary_key=True, serialize=False)),
            ],
        ),
        migrations.RunPython(create_index_and_backfill, drop_index),
    ]
