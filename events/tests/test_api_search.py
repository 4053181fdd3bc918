"""``GET /api/v1/search/?q=``: events, artists and venues, best first (``events.search.search_all``)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from events.models import Event
from events.search import search_rebuild
from events.tests.factories import ArtistFactory, EventFactory, LineupFactory, VenueFactory

pytestmark = pytest.mark.django_db

SEARCH = "/api/v1/search/"


def search(**params: Any) -> Any:
    return APIClient().get(SEARCH, params)


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code, body
    return body


@pytest.fixture
def catalogue() -> dict[str, Any]:
    club = VenueFactory(name="Hot Clube", slug="hot-clube", city="Lisbon")
    titled = EventFactory(
        title="Jazz Night", slug="jazz-night", venue=VenueFactory(name="Hall", city="Porto")
    )
    described = EventFactory(
        title="Late Session", slug="late-session", description="Some jazz after midnight."
    )
    headlined = EventFactory(title="Sunday Special", slug="sunday-special", venue=club)
    messengers = ArtistFactory(name="Jazz Messengers", slug="jazz-messengers")
    LineupFactory(event=headlined, artist=messengers, is_headliner=True)
    ArtistFactory(name="Rock Band", slug="rock-band")
    EventFactory(title="Jazz Draft", slug="jazz-draft", status=Event.Status.DRAFT)
    VenueFactory(name="Jazz Cellar", slug="jazz-cellar", city="Coimbra")
    search_rebuild()  # the documents are refreshed after commit, which these tests never reach
    return {"titled": titled, "described": described, "headlined": headlined}


def test_results_by_kind_best_first(catalogue: dict[str, Any]) -> None:
    response = search(q="jazz")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"events", "artists", "venues"}
    events = [event["slug"] for event in body["events"]]
    # Title and artist matches (weight A) before a description match (weight C); never a draft.
    assert set(events[:2]) == {"jazz-night", "sunday-special"}
    assert events[2:] == ["late-session"]
    assert [artist["slug"] for artist in body["artists"]] == ["jazz-messengers"]
    assert [venue["slug"] for venue in body["venues"]] == ["jazz-cellar"]


def test_item_shapes(catalogue: dict[str, Any]) -> None:
    body = search(q="sunday").json()

    (event,) = body["events"]
    headlined = catalogue["headlined"]
    assert event == {
        "slug": "sunday-special",
        "title": "Sunday Special",
        "starts_at": headlined.starts_at.isoformat().replace("+00:00", "Z"),
        "timezone": "Europe/Lisbon",
        "status": "published",
        "venue": {"slug": "hot-clube", "name": "Hot Clube", "city": "Lisbon", "country": "PT"},
        "headliners": ["Jazz Messengers"],
    }
    artists = search(q="messengers").json()["artists"]
    assert artists == [{"slug": "jazz-messengers", "name": "Jazz Messengers"}]
    venues = search(q="hot clube").json()["venues"]
    assert venues == [{"slug": "hot-clube", "name": "Hot Clube", "city": "Lisbon", "country": "PT"}]


def test_limit_caps_each_kind(catalogue: dict[str, Any]) -> None:
    body = search(q="jazz", limit=1).json()

    assert [len(body[kind]) for kind in ("events", "artists", "venues")] == [1, 1, 1]
    problem(search(q="jazz", limit=21), 400, "validation_error")


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}])
def test_missing_or_empty_query_is_a_validation_error(params: dict[str, str]) -> None:
    body = problem(search(**params), 400, "validation_error")

    assert [error["attr"] for error in body["errors"]] == ["q"]


def test_query_over_200_characters_is_too_long() -> None:
    assert search(q="a" * 200).status_code == 200

    body = problem(search(q="a" * 201), 400, "query_too_long")

    assert body["instance"] == SEARCH


def test_query_count_does_not_grow_with_results(django_assert_max_num_queries: Any) -> None:
    for index in range(12):
        event = EventFactory(title=f"Jazz {index}")
        LineupFactory(event=event, artist=ArtistFactory(name=f"Jazz Artist {index}"))
        VenueFactory(name=f"Jazz Bar {index}")
    search_rebuild()

    with django_assert_max_num_queries(5):
        body = search(q="jazz", limit=10).json()

    assert [len(body[kind]) for kind in ("events", "artists", "venues")] == [10, 10, 10]


def test_event_list_q_filter_ranks_and_pages_by_number(catalogue: dict[str, Any]) -> None:
    client = APIClient()

    first = client.get("/api/v1/events/", {"q": "jazz", "page_size": 2}).json()
    second = client.get(first["next"]).json()

    assert "page=2" in first["next"]
    ranked = [event["slug"] for event in first["results"] + second["results"]]
    assert set(ranked[:2]) == {"jazz-night", "sunday-special"}
    assert ranked[2:] == ["late-session"]
    assert second["next"] is None
    newest = client.get("/api/v1/events/", {"q": "jazz", "sort": "newest"}).json()
    assert [event["slug"] for event in newest["results"]] == ["sunday-special", "late-session", "jazz-night"]
