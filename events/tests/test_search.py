"""Catalogue search on PostgreSQL: documents kept current after commit, websearch syntax, typos, accents,
ranking; and the Python normalisation that SQLite (``make run``) relies on."""

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from events.exceptions import SearchQueryTooLong
from events.models import Artist, Event, SearchWord, Venue
from events.search import (
    FUZZY_ALTERNATIVES,
    MAX_QUERY_LENGTH,
    ParsedQuery,
    artist_search,
    event_search,
    search_all,
    search_corrections,
    search_normalize,
    search_parse,
    search_rebuild,
    search_refresh_events,
    venue_search,
)
from events.tests.factories import ArtistFactory, EventFactory, LineupFactory, VenueFactory

pytestmark = pytest.mark.django_db

OnCommit = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


def titles(queryset: Any) -> list[str]:
    return [event.title for event in queryset]


def found(q: str) -> list[str]:
    return titles(event_search(Event.objects.all(), q))


@pytest.fixture
def committed(django_capture_on_commit_callbacks: OnCommit) -> Callable[[], Any]:
    """``with committed():`` runs what the block registered with on_commit when it ends, as a commit
    would (pytest-django keeps each test in a transaction that never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def catalogue(committed: Callable[[], Any]) -> dict[str, Event]:
    with committed():
        lisbon = VenueFactory(name="Coliseu dos Recreios", city="Lisboa")
        porto = VenueFactory(name="Casa da Música", city="Porto")
        events = {
            "beyonce": EventFactory(
                title="Renaissance World Tour", venue=lisbon, description="Stadium show."
            ),
            "radiohead": EventFactory(title="In Rainbows Live", venue=porto, description="A rare club date."),
            "cafe": EventFactory(title="Café Tacvba en Vivo", venue=porto, description="Rock en español."),
            "jazz": EventFactory(title="Jazz Night", venue=lisbon, description="Standards and ballads."),
            "festival": EventFactory(title="Jazz Festival", venue=porto, description="Three days."),
            "soul": EventFactory(title="Saturday Session", venue=porto, description="Late jazz and soul."),
            "bluenote": EventFactory(title="Blue Note Sessions", venue=lisbon, description="Hard bop."),
            "noteblue": EventFactory(title="A Note on the Blue", venue=lisbon, description="Poetry."),
        }
        LineupFactory(event=events["beyonce"], artist=ArtistFactory(name="Beyoncé"))
        LineupFactory(event=events["radiohead"], artist=ArtistFactory(name="Radiohead"))
    return events


# --- Normalisation (what SQLite documents and queries are made of) ---------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Café  TACVBA", "cafe tacvba"),
        ("Beyoncé", "beyonce"),
        ("Sigur Rós", "sigur ros"),
        ("Ørsted Straße Œuvre", "orsted strasse oeuvre"),
        ("  Björk\t\n", "bjork"),
        ("AC/DC", "ac/dc"),
    ],
)
def test_search_normalize_lowercases_strips_accents_and_collapses_space(text: str, expected: str) -> None:
    assert search_normalize(text) == expected


def test_search_normalize_matches_the_database_unaccent() -> None:
    text = "Café Tacvba Beyoncé Sigur Rós Ørsted Straße Œuvre Łódź Ísland"
    with connection.cursor() as cursor:
        cursor.execute("SELECT gh_unaccent(lower(%s))", [text])
        assert cursor.fetchone()[0] == search_normalize(text)


def test_search_parse_reads_websearch_syntax() -> None:
    assert search_parse('jazz -festival "blue note" or -"free jazz" "open') == ParsedQuery(
        words=("jazz",), phrases=("blue note", "open"), excluded=("festival", "free jazz"), has_or=True
    )
    assert search_parse("- !!! ok") == ParsedQuery(words=("ok",))


# --- Matching -------------------------------------------------------------------------------------------


def test_documents_are_weighted_unaccented_and_lowercased(catalogue: dict[str, Event]) -> None:
    event = Event.objects.get(pk=catalogue["beyonce"].pk)
    assert event.search_text == "renaissance world tour beyonce coliseu dos recreios lisboa"
    assert "'beyonce':4A" in event.search_vector
    assert "'lisboa':8B" in event.search_vector
    assert "'stadium':9C" in event.search_vector


def test_an_artist_finds_the_event(catalogue: dict[str, Event]) -> None:
    assert found("beyoncé") == ["Renaissance World Tour"]
    assert found("Radiohead") == ["In Rainbows Live"]


@pytest.mark.parametrize(
    ("q", "title"),
    [
        ("beyonse", "Renaissance World Tour"),
        ("radiohed", "In Rainbows Live"),
        ("tacvb", "Café Tacvba en Vivo"),
    ],
)
def test_typos_are_forgiven(catalogue: dict[str, Event], q: str, title: str) -> None:
    assert found(q) == [title]


def test_accents_and_case_do_not_matter(catalogue: dict[str, Event], committed: Callable[[], Any]) -> None:
    assert found("cafe") == ["Café Tacvba en Vivo"]
    assert found("CAFÉ TACVBA") == ["Café Tacvba en Vivo"]
    with committed():
        LineupFactory(event=EventFactory(title="Lemonade"), artist=ArtistFactory(name="Beyonce"))
    assert set(found("beyoncé")) == {"Lemonade", "Renaissance World Tour"}


def test_excluded_words_are_excluded(catalogue: dict[str, Event]) -> None:
    assert set(found("jazz")) == {"Jazz Night", "Jazz Festival", "Saturday Session"}
    assert set(found("jazz -festival")) == {"Jazz Night", "Saturday Session"}
    # Also from the typo-tolerant branch: "jaz" is fuzzy, "-festival" still holds.
    assert "Jazz Festival" not in found("jaz -festival")
    assert "Jazz Night" in found("jaz -festival")


def test_quoted_phrases_match_in_order(catalogue: dict[str, Event]) -> None:
    assert found('"blue note"') == ["Blue Note Sessions"]
    assert set(found("blue note")) == {"Blue Note Sessions", "A Note on the Blue"}
    assert found('"blue note" lisboa') == ["Blue Note Sessions"]


def test_or_finds_either(catalogue: dict[str, Event]) -> None:
    assert set(found("beyonse or radiohed")) == {"Renaissance World Tour", "In Rainbows Live"}
    assert set(found("rainbows or renaissance")) == {"Renaissance World Tour", "In Rainbows Live"}


def test_unrelated_queries_find_nothing(catalogue: dict[str, Event]) -> None:
    assert found("metallica") == []
    assert found("!!!") == []
    assert found("-") == []


# --- Ranking --------------------------------------------------------------------------------------------


def test_a_title_match_outranks_a_description_only_match(catalogue: dict[str, Event]) -> None:
    results = list(event_search(Event.objects.filter(title__in=["Jazz Night", "Saturday Session"]), "jazz"))
    assert titles(results) == ["Jazz Night", "Saturday Session"]
    assert results[0].search_rank > results[1].search_rank > 0


def test_title_and_artist_outrank_venue_and_city_which_outrank_description(
    committed: Callable[[], Any],
) -> None:
    with committed():
        EventFactory(title="Sunday Matinee", description="Songs about the river Douro.")
        EventFactory(title="Late Show", venue=VenueFactory(name="Douro Hall", city="Régua"))
        EventFactory(title="Douro Nights")
        LineupFactory(event=EventFactory(title="Harbour Lights"), artist=ArtistFactory(name="Douro Trio"))
    results = list(event_search(Event.objects.all(), "douro"))
    assert titles(results[:2]) in (["Douro Nights", "Harbour Lights"], ["Harbour Lights", "Douro Nights"])
    assert titles(results[2:]) == ["Late Show", "Sunday Matinee"]
    ranks = [event.search_rank for event in results]
    assert ranks == sorted(ranks, reverse=True)
    assert ranks[1] > ranks[2] > ranks[3]


def test_the_exact_spelling_outranks_a_typo_match(committed: Callable[[], Any]) -> None:
    with committed():
        EventFactory(title="Radiohead Tribute")
        EventFactory(title="Radiohed Karaoke")
    assert found("radiohed") == ["Radiohed Karaoke", "Radiohead Tribute"]
    assert found("radiohead") == ["Radiohead Tribute", "Radiohed Karaoke"]


def test_search_keeps_the_querysets_filters_and_annotations(catalogue: dict[str, Event]) -> None:
    base = Event.objects.filter(venue__city="Porto").annotate(ticket_type_count=Count("ticket_types"))
    results = list(event_search(base, "jazz"))
    assert titles(results) == ["Jazz Festival", "Saturday Session"]
    assert all(event.ticket_type_count == 0 for event in results)


def test_an_empty_query_returns_the_queryset_unchanged(catalogue: dict[str, Event]) -> None:
    queryset = Event.objects.filter(status=Event.Status.PUBLISHED)
    assert event_search(queryset, "") is queryset
    assert event_search(queryset, "  \t ") is queryset


def test_a_query_over_200_characters_is_refused(catalogue: dict[str, Event]) -> None:
    event_search(Event.objects.all(), "a" * MAX_QUERY_LENGTH)
    with pytest.raises(SearchQueryTooLong) as error:
        event_search(Event.objects.all(), "a" * (MAX_QUERY_LENGTH + 1))
    assert error.value.code == "query_too_long"
    assert error.value.status == 400
    with pytest.raises(SearchQueryTooLong):
        search_all(q="x" * 500)


def test_control_characters_in_the_query_are_harmless(catalogue: dict[str, Event]) -> None:
    assert found("jazz\x00night") == ["Jazz Night"]


# --- Artists, venues, everything ----------------------------------------------------------------------------


def test_artist_search_ranks_the_closest_name_first(committed: Callable[[], Any]) -> None:
    with committed():
        for name in ["Queens of the Stone Age", "Queen", "Sigur Rós", "Björk"]:
            ArtistFactory(name=name)
    assert [a.name for a in artist_search("queen")] == ["Queen", "Queens of the Stone Age"]
    assert [a.name for a in artist_search("sigur ros")] == ["Sigur Rós"]
    assert [a.name for a in artist_search("bjork")] == ["Björk"]
    assert [a.name for a in artist_search("bjrok")] == []  # too far


def test_venue_search_matches_name_and_city(committed: Callable[[], Any]) -> None:
    with committed():
        VenueFactory(name="Coliseu dos Recreios", city="Lisboa")
        VenueFactory(name="Coliseu do Porto", city="Porto")
        VenueFactory(name="Casa da Música", city="Porto")
    assert {v.name for v in venue_search("coliseu")} == {"Coliseu dos Recreios", "Coliseu do Porto"}
    assert [v.name for v in venue_search("coliseu porto")] == ["Coliseu do Porto"]
    assert [v.name for v in venue_search("musica")] == ["Casa da Música"]
    assert [v.name for v in venue_search("colisseu lisboa")] == ["Coliseu dos Recreios"]


def test_search_all_excludes_drafts_and_is_a_fixed_number_of_queries(
    committed: Callable[[], Any], django_assert_num_queries: Any
) -> None:
    with committed():
        venue = VenueFactory(name="Aurora Hall", city="Lisboa")
        artist = ArtistFactory(name="Aurora")
        for status in Event.Status:
            LineupFactory(event=EventFactory(title=f"Aurora {status.label}", venue=venue), artist=artist)
        Event.objects.filter(title="Aurora Draft").update(status=Event.Status.DRAFT)
        Event.objects.filter(title="Aurora Cancelled").update(status=Event.Status.CANCELLED)
    # The query words' corrections (one query for all words), events, their lineups with artists, artists,
    # venues.
    with django_assert_num_queries(5):
        results = search_all(q="aurora", limit=10)
        assert [slot.artist.name for event in results.events for slot in event.lineup.all()] == ["Aurora"] * 3
    assert {event.title for event in results.events} == {
        "Aurora Published",
        "Aurora Cancelled",
        "Aurora Postponed",
    }
    assert results.artists == [artist]
    assert results.venues == [venue]
    assert search_all(q="aurora", limit=2).events == results.events[:2]
    assert search_all(q="   ").is_empty


# --- Keeping documents current ------------------------------------------------------------------------------


def test_an_artist_rename_is_searchable_after_commit(
    catalogue: dict[str, Event], committed: Callable[[], Any], django_capture_on_commit_callbacks: OnCommit
) -> None:
    artist = Artist.objects.get(name="Radiohead")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        artist.name = "Atoms for Peace"
        artist.save()
        assert found("atoms") == []  # not before commit
    assert callbacks
    for callback in callbacks:
        callback()
    assert found("atoms for peace") == ["In Rainbows Live"]
    assert found("radiohead") == []
    assert [a.name for a in artist_search("atoms")] == ["Atoms for Peace"]


def test_a_venue_city_change_is_searchable_after_commit(
    catalogue: dict[str, Event], committed: Callable[[], Any]
) -> None:
    venue = Venue.objects.get(name="Coliseu dos Recreios")
    with committed():
        venue.city = "Évora"
        venue.save()
    assert set(found("evora")) == {
        "Renaissance World Tour",
        "Jazz Night",
        "Blue Note Sessions",
        "A Note on the Blue",
    }
    assert found("lisboa") == []
    assert [v.name for v in venue_search("évora")] == ["Coliseu dos Recreios"]


def test_an_event_moved_to_another_venue_is_found_there(
    catalogue: dict[str, Event], committed: Callable[[], Any]
) -> None:
    event = catalogue["radiohead"]
    with committed():
        event.venue = Venue.objects.get(name="Coliseu dos Recreios")
        event.save()
    assert "In Rainbows Live" in found("lisboa")


def test_lineup_changes_are_searchable_after_commit(
    catalogue: dict[str, Event], committed: Callable[[], Any]
) -> None:
    event = catalogue["jazz"]
    with committed():
        LineupFactory(event=event, artist=ArtistFactory(name="Ólafur Arnalds"))
    assert found("olafur") == ["Jazz Night"]

    kamasi = ArtistFactory(name="Kamasi Washington")
    with committed():
        event.artists.add(kamasi)  # bulk insert of Lineup: m2m_changed, no post_save
    assert found("kamasi") == ["Jazz Night"]
    with committed():
        kamasi.events.remove(event)  # the reverse side
    assert found("kamasi") == []
    with committed():
        event.lineup.all().delete()
    assert found("olafur") == []


def test_an_event_edit_is_searchable_after_commit(
    catalogue: dict[str, Event], committed: Callable[[], Any]
) -> None:
    event = catalogue["soul"]
    with committed():
        event.title = "Sábado Soul Club"
        event.description = "Northern soul all night."
        event.save()
    assert found("sabado") == ["Sábado Soul Club"]
    assert found("northern") == ["Sábado Soul Club"]


def test_save_with_unrelated_update_fields_leaves_documents_alone(
    catalogue: dict[str, Event], committed: Callable[[], Any]
) -> None:
    event = catalogue["soul"]
    Event.objects.filter(pk=event.pk).update(title="Changed behind our back")
    with CaptureQueriesContext(connection) as queries, committed():
        event.is_featured = True
        event.save(update_fields=["is_featured"])
    assert not [q for q in queries.captured_queries if q["sql"].lstrip().startswith("WITH doc AS")]
    assert Event.objects.get(pk=event.pk).search_text.startswith("saturday session")


def test_changes_in_one_transaction_are_refreshed_once(
    catalogue: dict[str, Event], committed: Callable[[], Any]
) -> None:
    with CaptureQueriesContext(connection) as queries, committed():
        for event in catalogue.values():
            event.description += " Updated."
            event.save()
        artist = Artist.objects.get(name="Beyoncé")
        artist.name = "Beyoncé Knowles"
        artist.save()
        LineupFactory(event=catalogue["jazz"], artist=ArtistFactory(name="Esperanza Spalding"))
    refreshes = [q for q in queries.captured_queries if q["sql"].lstrip().startswith("WITH doc AS")]
    assert len(refreshes) == 1
    assert found("knowles") == ["Renaissance World Tour"]
    assert found("spalding") == ["Jazz Night"]
    assert set(found("updated")) == {e.title for e in catalogue.values()}


def test_a_rolled_back_change_is_not_published(
    catalogue: dict[str, Event], committed: Callable[[], Any]
) -> None:
    from django.db import transaction

    event = catalogue["jazz"]
    with committed():
        try:
            with transaction.atomic():
                Event.objects.filter(pk=event.pk).update(title="Ghost Gig")
                event.title = "Ghost Gig"
                event.save()
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert found("ghost") == []
    assert found("jazz night") == ["Jazz Night"]


def test_search_refresh_and_rebuild_repair_writes_that_sent_no_signals(catalogue: dict[str, Event]) -> None:
    event = catalogue["jazz"]
    Event.objects.filter(pk=event.pk).update(title="Bossa Nova Night")  # no signal
    assert found("bossa") == []
    assert search_refresh_events(event_ids=[event.pk, 10**9]) == 1
    assert found("bossa") == ["Bossa Nova Night"]
    assert search_refresh_events(event_ids=[event.pk]) == 0  # unchanged rows are not rewritten

    Event.objects.update(search_vector=None, search_text="")
    Artist.objects.update(search_text="")
    counts = search_rebuild(batch_size=3)
    assert counts["events"] == len(catalogue)
    assert counts["artists"] == Artist.objects.count()
    assert found("beyonse") == ["Renaissance World Tour"]


# --- The vocabulary typos are corrected against -----------------------------------------------------------


def test_the_vocabulary_holds_the_words_of_titles_artists_venues_and_cities(
    catalogue: dict[str, Event],
) -> None:
    words = set(SearchWord.objects.values_list("word", flat=True))
    assert {"renaissance", "beyonce", "coliseu", "lisboa", "radiohead", "tacvba"} <= words
    assert "stadium" not in words  # descriptions are matched exactly only


def test_corrections_are_the_closest_words_closest_first(catalogue: dict[str, Event]) -> None:
    beyonse, jaz, nothing = search_corrections(["Beyonsé", "jaz", "zzzz"])
    assert beyonse[0][0] == "beyonce"
    assert 0.6 <= beyonse[0][1] < 1
    assert jaz[0][0] == "jazz"
    assert nothing == []
    assert search_corrections(["radiohead"])[0][0] == ("radiohead", 1.0)


def test_a_short_word_is_tried_as_a_bounded_number_of_words(committed: Callable[[], Any]) -> None:
    with committed():
        for n in range(FUZZY_ALTERNATIVES + 5):
            EventFactory(title=f"Rock{'x' * n}a Night")
    (alternatives,) = search_corrections(["rock"])
    assert len(alternatives) == FUZZY_ALTERNATIVES
    # Fewer rows compared, not fewer found: the closest words come first, and their events match.
    assert "Rocka Night" in found("rock")


def test_new_words_join_the_vocabulary_after_commit_and_rebuild_drops_the_old(
    catalogue: dict[str, Event], committed: Callable[[], Any]
) -> None:
    artist = Artist.objects.get(name="Radiohead")
    with committed():
        artist.name = "Thom Yorke"
        artist.save()
    assert found("thom york") == ["In Rainbows Live"]
    assert SearchWord.objects.filter(word="radiohead").exists()  # harmless until the next rebuild
    assert found("radiohed") == []

    counts = search_rebuild()
    assert counts["words"] >= 1
    assert not SearchWord.objects.filter(word="radiohead").exists()
    assert SearchWord.objects.filter(word="yorke").exists()


def test_a_misspelt_city_is_found_through_the_index_not_by_comparing_rows(
    catalogue: dict[str, Event],
) -> None:
    queryset = event_search(Event.objects.all(), "lisbon")
    sql = str(queryset.query)
    assert "WORD_SIMILARITY" not in sql.upper()
    assert "'lisboa':AB" in sql
    assert set(titles(queryset)) == {
        "Renaissance World Tour",
        "Jazz Night",
        "Blue Note Sessions",
        "A Note on the Blue",
    }
