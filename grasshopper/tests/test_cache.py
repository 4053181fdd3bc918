"""The tagged cache (grasshopper.lib.cache) on local memory and on the test Redis, a Redis nobody listens
to, and the catalogue's receivers bumping event tags after commit."""

import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from django.core.cache import caches

from grasshopper.lib import cache as tagged
from grasshopper.lib.cache import (
    cache_get_or_set,
    cache_get_stamped,
    cache_set_stamped,
    cached_selector,
    selector_cache_key,
    tag_bump,
    tag_versions,
)

DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture(autouse=True)
def _fresh_backoff() -> Iterator[None]:
    tagged.cache_reset_backoff()
    yield
    tagged.cache_reset_backoff()


@pytest.fixture
def locmem(settings: Any) -> None:
    """A private local-memory default cache (``make run``'s backend). Overriding CACHES makes Django build
    new backend objects, and again when the settings fixture restores it."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{uuid.uuid4()}",
        }
    }


@pytest.fixture(params=["locmem", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    """Both backends: local memory, and the django-redis cache of the test settings (REDIS_URL)."""
    if request.param == "locmem":
        request.getfixturevalue("locmem")
    else:
        assert "RedisCache" in type(caches["default"]).__name__
    return str(request.param)


@pytest.fixture
def dead_cache(settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }


class Producer:
    """Counts its calls and returns the count (so a fresh value is visible)."""

    def __init__(self, value: Any = None) -> None:
        self.calls = 0
        self.value = value

    def __call__(self) -> Any:
        self.calls += 1
        return self.calls if self.value is None else self.value


def test_get_or_set_calls_the_producer_once(backend: str) -> None:
    produce = Producer()
    assert cache_get_or_set("answer", produce, tags=["events"], ttl=60) == 1
    assert cache_get_or_set("answer", produce, tags=["events"], ttl=60) == 1
    assert produce.calls == 1


def test_none_and_falsy_values_are_cached_too(backend: str) -> None:
    for key, value in [("none", None), ("empty", []), ("zero", 0)]:
        calls = []

        def produce(value: Any = value, calls: list[int] = calls) -> Any:
            calls.append(1)
            return value

        assert cache_get_or_set(key, produce, tags=[], ttl=60) == value
        assert cache_get_or_set(key, produce, tags=[], ttl=60) == value
        assert len(calls) == 1, key


def test_a_tag_bump_invalidates_only_entries_with_that_tag(backend: str) -> None:
    events, event_1, artists = Producer(), Producer(), Producer()

    def read() -> tuple[int, int, int]:
        return (
            cache_get_or_set("event-list", events, tags=["events"], ttl=60),
            cache_get_or_set("event-1", event_1, tags=["events", "event:1"], ttl=60),
            cache_get_or_set("artist-list", artists, tags=["artists"], ttl=60),
        )

    assert read() == (1, 1, 1)
    tag_bump("event:1")
    assert read() == (1, 2, 1)
    tag_bump("events")
    assert read() == (2, 3, 1)
    tag_bump("venues", "artists")
    assert read() == (2, 3, 2)
    assert read() == (2, 3, 2)


def test_a_lost_tag_counter_never_brings_old_entries_back(backend: str) -> None:
    produce = Producer()
    assert cache_get_or_set("page", produce, tags=["events"], ttl=60) == 1
    caches["default"].delete(tagged.TAG_KEY_PREFIX + "events")  # evicted, or Redis restarted empty
    assert cache_get_or_set("page", produce, tags=["events"], ttl=60) == 2
    tag_bump("never-used")  # creates a counter; nothing breaks
    assert cache_get_or_set("page", produce, tags=["events"], ttl=60) == 2


def test_bad_keys_tags_and_ttls_are_refused(locmem: None) -> None:
    with pytest.raises(ValueError, match="key"):
        cache_get_or_set("has space", Producer(), tags=[], ttl=60)
    with pytest.raises(ValueError, match="tag"):
        cache_get_or_set("ok", Producer(), tags=["x" * 500], ttl=60)
    with pytest.raises(TypeError):
        cache_get_or_set("ok", Producer(), tags="events", ttl=60)
    with pytest.raises(ValueError, match="ttl"):
        cache_get_or_set("ok", Producer(), tags=[], ttl=0)


def test_ttl_is_respected(locmem: None) -> None:
    produce = Producer()
    with time_machine.travel(1_900_000_000, tick=False) as traveller:
        assert cache_get_or_set("short", produce, tags=["events"], ttl=5) == 1
        traveller.shift(4)
        assert cache_get_or_set("short", produce, tags=["events"], ttl=5) == 1
        traveller.shift(2)
        assert cache_get_or_set("short", produce, tags=["events"], ttl=5) == 2


# --- Stamped entries ---------------------------------------------------------------------------------------


def test_a_stamped_entry_is_served_until_one_of_its_tags_is_bumped(backend: str) -> None:
    versions = tag_versions(["event:1", "genres"])
    assert versions is not None
    cache_set_stamped({"page:a": "A", "page:b": "B"}, versions=versions, ttl=60)
    cache_set_stamped({"page:c": "C"}, versions=tag_versions(["event:2"]) or {}, ttl=60)

    found = cache_get_stamped(["page:a", "page:b", "page:c", "page:missing"])
    assert found.values == {"page:a": "A", "page:b": "B", "page:c": "C"}
    assert set(found.versions) == {"event:1", "genres", "event:2"}

    tag_bump("event:1")
    assert cache_get_stamped(["page:a", "page:b", "page:c"]).values == {"page:c": "C"}


def test_versions_read_before_a_bump_never_make_a_current_entry(backend: str) -> None:
    versions = tag_versions(["events"])  # read, then the rows; meanwhile a change is committed and bumped
    tag_bump("events")
    cache_set_stamped({"list": "built from rows read before the change"}, versions=versions or {}, ttl=60)
    assert cache_get_stamped(["list"]).values == {}


def test_tags_known_in_advance_come_with_the_entries(backend: str) -> None:
    cache_set_stamped({"list": [1, 2]}, versions=tag_versions(["events", "venues"]) or {}, ttl=60)
    found = cache_get_stamped(["list", "other"], tags=["events", "venues", "genres"])
    assert found.values == {"list": [1, 2]}
    assert set(found.versions) == {"events", "venues"}  # "genres" has no counter yet
    assert cache_get_stamped(["other"], tags=["events"]).versions.keys() == {"events"}


def test_stamped_entries_expire(locmem: None) -> None:
    with time_machine.travel(1_900_000_000, tick=False) as traveller:
        cache_set_stamped({"short": 1}, versions=tag_versions(["events"]) or {}, ttl=5)
        traveller.shift(4)
        assert cache_get_stamped(["short"]).values == {"short": 1}
        traveller.shift(2)
        assert cache_get_stamped(["short"]).values == {}


def test_a_dead_redis_makes_stamped_entries_missing_not_errors(dead_cache: None) -> None:
    assert tag_versions(["events"]) is None
    cache_set_stamped({"page": 1}, versions={"events": 1}, ttl=60)
    assert cache_get_stamped(["page"]).values == {}


# --- @cached_selector ------------------------------------------------------------------------------------


def test_cached_selector_keys_differ_by_keyword_arguments(backend: str) -> None:
    calls: list[dict[str, Any]] = []

    @cached_selector(tags=["events"], ttl=60)
    def event_list(*, city: str, page: int = 1) -> list[str]:
        calls.append({"city": city, "page": page})
        return [f"{city}-{page}-{len(calls)}"]

    assert event_list(city="Lisboa") == ["Lisboa-1-1"]
    assert event_list(city="Lisboa") == ["Lisboa-1-1"]
    assert event_list(city="Porto") == ["Porto-1-2"]
    assert event_list(city="Lisboa", page=2) == ["Lisboa-2-3"]
    assert event_list(page=2, city="Lisboa") == ["Lisboa-2-3"]  # order does not matter
    assert len(calls) == 3
    tag_bump("events")
    assert event_list(city="Lisboa") == ["Lisboa-1-4"]
    assert event_list.__wrapped__(city="Lisboa") == ["Lisboa-1-5"]  # type: ignore[attr-defined]


def test_selector_keys_are_stable_hashes_of_sorted_arguments() -> None:
    key = selector_cache_key("events.selectors.event_list", {"b": [1, 2], "a": "x"})
    assert key == selector_cache_key("events.selectors.event_list", {"a": "x", "b": [1, 2]})
    assert key.startswith("sel:events.selectors.event_list:")
    assert len(key) < 100
    assert key != selector_cache_key("events.selectors.event_list", {"a": "x", "b": [2, 1]})
    assert selector_cache_key("f", {"s": {3, 1, 2}}) == selector_cache_key("f", {"s": {1, 2, 3}})


def test_cached_selector_tags_may_depend_on_the_arguments(backend: str) -> None:
    calls: list[int] = []

    @cached_selector(tags=lambda *, event_id: ["events", f"event:{event_id}"], ttl=60, key="event_page:v1")
    def event_page(*, event_id: int) -> dict[str, int]:
        calls.append(event_id)
        return {"id": event_id, "version": calls.count(event_id)}

    assert event_page(event_id=1)["version"] == 1
    assert event_page(event_id=2)["version"] == 1
    tag_bump("event:1")
    assert event_page(event_id=1)["version"] == 2
    assert event_page(event_id=2)["version"] == 1


def test_cached_selector_refuses_what_it_cannot_key_or_cache(locmem: None) -> None:
    from events.models import Event

    @cached_selector(tags=["events"], ttl=60)
    def selector(**kwargs: Any) -> Any:
        return kwargs.get("result", 1)

    with pytest.raises(TypeError, match="keyword"):
        selector(1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="object"):
        selector(thing=object())
    with pytest.raises(TypeError, match="unsaved"):
        selector(event=Event())
    with pytest.raises(TypeError, match="QuerySet"):
        selector(result=Event.objects.none())
    with pytest.raises(ValueError, match="ttl"):
        cached_selector(tags=[], ttl=0)


# --- A cache outage costs the cache, never the page ------------------------------------------------------


def _unavailable_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "cache_unavailable" in str(r.msg) and r.levelno == logging.WARNING]


def test_a_dead_redis_falls_back_to_the_producer(dead_cache: None, caplog: pytest.LogCaptureFixture) -> None:
    produce = Producer()

    @cached_selector(tags=["events"], ttl=60)
    def selector(*, n: int) -> int:
        return n * 10

    with caplog.at_level(logging.WARNING, logger="grasshopper.lib.cache"):
        assert cache_get_or_set("page", produce, tags=["events"], ttl=60) == 1
        assert cache_get_or_set("page", produce, tags=["events"], ttl=60) == 2
        assert selector(n=4) == 40
        tag_bump("events")  # does not raise
    # One connection attempt, then the back-off window: not one timeout per cached call.
    assert len(_unavailable_warnings(caplog)) == 1


def test_after_the_backoff_window_the_cache_is_tried_again(
    dead_cache: None, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tagged, "RETRY_AFTER_SECONDS", 0.0)
    with caplog.at_level(logging.WARNING, logger="grasshopper.lib.cache"):
        assert cache_get_or_set("page", Producer("x"), tags=["events"], ttl=60) == "x"
        tag_bump("events")
        assert cache_get_or_set("page", Producer("y"), tags=["events"], ttl=60) == "y"
    assert len(_unavailable_warnings(caplog)) == 3


def test_producer_errors_are_not_swallowed(dead_cache: None) -> None:
    def broken() -> None:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        cache_get_or_set("page", broken, tags=[], ttl=60)


# --- The catalogue's tags -------------------------------------------------------------------------------


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Callable[..., Any]) -> Callable[[], Any]:
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.mark.django_db
def test_saving_an_event_bumps_its_tags_after_commit(
    backend: str, committed: Callable[[], Any], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    from events.cache import TAG_ARTISTS, TAG_EVENTS, artist_tag, event_tag, venue_tag
    from events.tests.factories import EventFactory, LineupFactory, TicketTypeFactory

    with committed():
        event, other = EventFactory(), EventFactory()
        slot = LineupFactory(event=event)
    producers = {
        tags: Producer()
        for tags in [
            (event_tag(event.pk),),
            (TAG_EVENTS,),
            (venue_tag(event.venue_id),),
            (artist_tag(slot.artist_id),),
            (event_tag(other.pk),),
            (TAG_ARTISTS,),
        ]
    }

    def read() -> dict[tuple[str, ...], int]:
        return {
            tags: cache_get_or_set("-".join(tags).replace(":", "_"), produce, tags=tags, ttl=60)
            for tags, produce in producers.items()
        }

    assert set(read().values()) == {1}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event.title = "Renamed"
        event.save()
        assert set(read().values()) == {1}  # nothing before commit
    for callback in callbacks:
        callback()
    after = read()
    assert after[(event_tag(event.pk),)] == 2
    assert after[(TAG_EVENTS,)] == 2
    assert after[(venue_tag(event.venue_id),)] == 2  # the venue's page lists it
    assert after[(artist_tag(slot.artist_id),)] == 2  # so does the artist's
    assert after[(event_tag(other.pk),)] == 1
    assert after[(TAG_ARTISTS,)] == 1

    with committed():
        TicketTypeFactory(event=event)
    assert read()[(event_tag(event.pk),)] == 3
    assert read()[(event_tag(other.pk),)] == 1

    with committed():
        slot.artist.name = "Someone Else"
        slot.artist.save()
    after = read()
    assert after[(event_tag(event.pk),)] == 4  # its events show the artist
    assert after[(TAG_ARTISTS,)] == 2
    assert after[(event_tag(other.pk),)] == 1


def test_availability_is_never_cached_longer_than_five_seconds() -> None:
    from events.cache import AVAILABILITY_TTL

    assert AVAILABILITY_TTL <= 5
