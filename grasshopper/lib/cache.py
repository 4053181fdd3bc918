"""A tagged cache over Django's default cache, and a decorator for cached selectors.

Invalidation is by tag, through version numbers kept in the cache itself: every tag (``"events"``,
``"event:42"``) has a counter under ``gh:tag:<tag>``, and an entry's real key embeds the current counter of
each of its tags. ``tag_bump("event:42")`` increments the counter (``cache.incr``, atomic on Redis), so every
key built with the old number is never read again and simply expires at its TTL. No key scans, no
``delete_pattern``: works the same on LocMemCache (``make run``) and django-redis (production).

A counter that disappears (evicted, Redis restarted empty) is recreated with a fresh random number, never
from 1, so an entry written under an earlier number cannot come back to life.

The cache is an optimisation, never a dependency: if the backend fails (Redis down, a timeout), the error
is logged as a warning and the producer is called, so pages keep working uncached. After a failure the
cache is not tried again for ``RETRY_AFTER_SECONDS`` in this thread, so a dead Redis costs one connection
timeout per window instead of one per cached call. What was cached before an outage and whose tags were
bumped *during* it can be served until its TTL once Redis is back: keep TTLs short for anything that
matters (availability: seconds).

Entries whose tags are only known once the value is produced (a page cached by its URL, tagged with the id
of the row behind it) are *stamped*: ``cache_get_stamped`` / ``tag_versions`` / ``cache_set_stamped``
store the tag versions with the value and compare them on read (see the section below).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
import hashlib
import json
import re
import secrets
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

import structlog
from django.core.cache import BaseCache, caches
from django.db.models import Model, QuerySet

log = structlog.get_logger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

CACHE_ALIAS = "default"
TAG_KEY_PREFIX = "gh:tag:"
ENTRY_KEY_PREFIX = "gh:c:"
STAMPED_KEY_PREFIX = "gh:s:"
SELECTOR_KEY_PREFIX = "sel:"
MAX_KEY_LENGTH = 150  # before the prefix and the versions digest; memcached's hard limit is 250
# After a cache error, this thread calls producers directly for this long before trying the cache again.
RETRY_AFTER_SECONDS = 5.0

TagsArg = Iterable[str] | Callable[..., Iterable[str]]

_MISSING = object()


def _cache_errors() -> tuple[type[BaseException], ...]:
    """What a backend raises when it is unreachable. django-redis wraps redis errors into
    ConnectionInterrupted (unless DJANGO_REDIS_IGNORE_EXCEPTIONS); sockets raise OSError."""
    errors: list[type[BaseException]] = [OSError]
    try:
        from django_redis.exceptions import ConnectionInterrupted

        errors.append(ConnectionInterrupted)
    except ImportError:  # pragma: no cover - django-redis is in requirements.txt
        pass
    try:
        from redis.exceptions import RedisError

        errors.append(RedisError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


CACHE_ERRORS = _cache_errors()

# Backend object -> time.monotonic() until which it is not tried. Django's cache handler gives each
# thread its own backend objects (and new ones after override_settings), so this is per thread and
# forgets backends that are gone.
_unavailable_until: weakref.WeakKeyDictionary[BaseCache, float] = weakref.WeakKeyDictionary()


def _backend() -> BaseCache | None:
    """The default cache, or None while it is in its back-off window after an error."""
    backend = caches[CACHE_ALIAS]
    until = _unavailable_until.get(backend)
    if until is not None:
        if time.monotonic() < until:
            return None
        _unavailable_until.pop(backend, None)
    return backend


def _failed(backend: BaseCache, *, operation: str, error: BaseException) -> None:
    _unavailable_until[backend] = time.monotonic() + RETRY_AFTER_SECONDS
    log.warning(
        "cache_unavailable",
        operation=operation,
        error=f"{type(error).__name__}: {error}",
        retry_after_s=RETRY_AFTER_SECONDS,
    )


def cache_reset_backoff() -> None:
    """Forget every back-off window (tests; or after an operator fixed the cache)."""
    _unavailable_until.clear()


# 1 to MAX_KEY_LENGTH characters, none of them whitespace or control characters.
_NAME = re.compile(rf"[^\s\x00-\x1f]{{1,{MAX_KEY_LENGTH}}}")


def _check_name(value: str, *, what: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"Invalid cache {what} {value!r}: 1-{MAX_KEY_LENGTH} characters, no whitespace.")
    return value


def _tag_key(tag: str) -> str:
    return TAG_KEY_PREFIX + tag


def _new_version() -> int:
    # Random, not 1: a counter that was evicted must not restart at a number old entries were written at.
    return secrets.randbits(48)


def _tag_versions(backend: BaseCache, tags: list[str]) -> dict[str, int]:
    """The current counter of each tag, creating missing ones (``add``: the first writer wins)."""
    if not tags:
        return {}
    found = backend.get_many([_tag_key(tag) for tag in tags])
    versions: dict[str, int] = {}
    for tag in tags:
        version = found.get(_tag_key(tag))
        if version is None:
            fresh = _new_version()
            if backend.add(_tag_key(tag), fresh, timeout=None):
                version = fresh
            else:  # another process created it between our get and our add
                version = backend.get(_tag_key(tag), fresh)
        versions[tag] = int(version)
    return versions


def _entry_key(key: str, versions: Mapping[str, int]) -> str:
    stamp = "|".join(f"{tag}={versions[tag]}" for tag in sorted(versions))
    digest = hashlib.blake2b(stamp.encode(), digest_size=12).hexdigest()
    return f"{ENTRY_KEY_PREFIX}{key}:{digest}"


def _normalise_tags(tags: Iterable[str]) -> list[str]:
    if isinstance(tags, str):
        raise TypeError("tags must be an iterable of strings, not a string")
    return sorted({_check_name(tag, what="tag") for tag in tags})


def cache_get_or_set(key: str, producer: Callable[[], T], *, tags: Iterable[str], ttl: float) -> T:
    """The cached value for ``key`` under the current versions of ``tags``, or ``producer()`` (then cached
    for ``ttl`` seconds). ``None`` is a value like any other. Cache failures only cost the cache."""
    _check_name(key, what="key")
    tag_list = _normalise_tags(tags)
    if ttl <= 0:
        raise ValueError("ttl must be a positive number of seconds")

    backend = _backend()
    if backend is None:
        return producer()
    try:
        entry_key = _entry_key(key, _tag_versions(backend, tag_list))
        value = backend.get(entry_key, _MISSING)
    except CACHE_ERRORS as error:
        _failed(backend, operation="get", error=error)
        return producer()
    if value is not _MISSING:
        return value  # type: ignore[no-any-return]

    value = producer()
    if isinstance(value, QuerySet):
        raise TypeError(f"{key}: cache a list, not a QuerySet (a pickled QuerySet re-queries when chained)")
    try:
        backend.set(entry_key, value, timeout=ttl)
    except CACHE_ERRORS as error:
        _failed(backend, operation="set", error=error)
    return value


def tag_bump(*tags: str) -> None:
    """Invalidate every entry cached with any of ``tags``. Call it after commit (``transaction.on_commit``)
    so a reader cannot re-cache the old rows between the bump and the commit."""
    tag_list = _normalise_tags(tags)
    backend = _backend()
    if backend is None:
        log.warning("cache_tags_not_bumped", tags=tag_list, reason="cache unavailable")
        return
    try:
        for tag in tag_list:
            try:
                backend.incr(_tag_key(tag))
            except ValueError:  # no counter yet: nothing was cached under it, start a fresh one
                if not backend.add(_tag_key(tag), _new_version(), timeout=None):
                    backend.incr(_tag_key(tag))  # someone else just created it; move past theirs
    except CACHE_ERRORS as error:
        _failed(backend, operation="bump", error=error)
        log.warning("cache_tags_not_bumped", tags=tag_list, reason="cache error")


# --- Stamped entries: the tags travel with the value ---------------------------------------------------
#
# ``cache_get_or_set`` needs an entry's tags before it can look the entry up. A page cached by its URL
# (``/events/<slug>/``) only learns its tags (``event:<id>``) from the database. A stamped entry is stored
# under a key of its own with the tag versions it was produced under, and is current while every one of
# those tags still has that version:
#
#     found = cache_get_stamped([key])                       # 2 round trips, any number of keys
#     if key not in found.values:
#         versions = tag_versions(tags)                      # BEFORE reading what the value is made of
#         value = produce()
#         cache_set_stamped({key: value}, versions=versions, ttl=ttl)
#
# Reading the versions before the data is what makes it safe: a change committed (and bumped) after the
# read leaves the new entry stamped with an old version, so it is never served.

_STAMP = "gh-stamped-v1"


@dataclasses.dataclass(frozen=True)
class Stamped:
    """What ``cache_get_stamped`` found: the current ``values`` by key, and ``versions``, the current version
    of every tag those values were stamped with (stamp further values made of the same rows with them)."""

    values: dict[str, Any]
    versions: dict[str, int]


def tag_versions(tags: Iterable[str]) -> dict[str, int] | None:
    """The current version of each tag (created when missing), to stamp a value with: read them *before*
    reading what the value is made of. ``None`` when the cache is unavailable (then do not cache)."""
    tag_list = _normalise_tags(tags)
    backend = _backend()
    if backend is None:
        return None
    try:
        return _tag_versions(backend, tag_list)
    except CACHE_ERRORS as error:
        _failed(backend, operation="get", error=error)
        return None


def cache_get_stamped(keys: Iterable[str], *, tags: Iterable[str] = ()) -> Stamped:
    """The values stored under ``keys`` by ``cache_set_stamped`` whose tags were not bumped since; keys
    missing, expired or stale are left out. Two cache round trips for any number of keys, one when the
    entries' ``tags`` are known in advance (they are read with the entries; ``versions`` has them all).
    None of it raises when the cache fails (everything is then missing)."""
    key_list = [_check_name(key, what="key") for key in keys]
    known = _normalise_tags(tags)
    backend = _backend()
    if backend is None or not key_list:
        return Stamped(values={}, versions={})
    try:
        found = backend.get_many(
            [STAMPED_KEY_PREFIX + key for key in key_list] + [_tag_key(tag) for tag in known]
        )
        entries = {
            key: entry
            for key in key_list
            if isinstance(entry := found.get(STAMPED_KEY_PREFIX + key), tuple)
            and len(entry) == 3
            and entry[0] == _STAMP
        }
        tag_list = sorted({*known, *(tag for _, stamped, _ in entries.values() for tag in stamped)})
        missing = [tag for tag in tag_list if tag not in known]
        if missing:
            found.update(backend.get_many([_tag_key(tag) for tag in missing]))
    except CACHE_ERRORS as error:
        _failed(backend, operation="get", error=error)
        return Stamped(values={}, versions={})
    versions = {tag: int(found[_tag_key(tag)]) for tag in tag_list if _tag_key(tag) in found}
    values = {
        key: value
        for key, (_, stamped, value) in entries.items()
        if all(versions.get(tag) == version for tag, version in stamped.items())
    }
    return Stamped(values=values, versions=versions)


def cache_set_stamped(values: Mapping[str, Any], *, versions: Mapping[str, int], ttl: float) -> None:
    """Store each value under its key for ``ttl`` seconds, stamped with ``versions`` (from
    ``tag_versions`` or ``Stamped.versions``, read before the data the values are made of)."""
    if ttl <= 0:
        raise ValueError("ttl must be a positive number of seconds")
    for key, value in values.items():
        _check_name(key, what="key")
        if isinstance(value, QuerySet):
            raise TypeError(f"{key}: cache a list, not a QuerySet")
    backend = _backend()
    if backend is None or not values:
        return
    stamp = dict(versions)
    try:
        backend.set_many(
            {STAMPED_KEY_PREFIX + key: (_STAMP, stamp, value) for key, value in values.items()}, timeout=ttl
        )
    except CACHE_ERRORS as error:
        _failed(backend, operation="set", error=error)


# --- @cached_selector -------------------------------------------------------------------------------------


def _canonical(value: Any) -> Any:
    """A JSON-able, deterministic form of a selector argument; refuses what has no stable identity."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return _canonical(value.value)
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, Model):
        if value.pk is None:
            raise TypeError(f"cannot key a cache entry on an unsaved {type(value).__name__}")
        return {"model": value._meta.label_lower, "pk": _canonical(value.pk)}
    if isinstance(value, QuerySet):
        raise TypeError("cannot key a cache entry on a QuerySet; pass ids")
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    raise TypeError(f"cannot key a cache entry on a {type(value).__name__}")


def selector_cache_key(name: str, kwargs: Mapping[str, Any]) -> str:
    """``sel:<name>:<hash of the sorted keyword arguments>``."""
    payload = json.dumps(_canonical(dict(kwargs)), sort_keys=True, separators=(",", ":"))
    digest = hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()
    return f"{SELECTOR_KEY_PREFIX}{name}:{digest}"


def cached_selector(
    *, tags: TagsArg, ttl: float, key: str | None = None
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Cache a selector that takes keyword arguments only.

    ``tags``: a list of tags, or a callable receiving the same keyword arguments and returning them
    (``tags=lambda *, event_id: ["events", f"event:{event_id}"]``). ``key``: the name the entries are
    stored under (default ``<module>.<qualname>``); change it when the returned shape changes, so old
    processes and new ones do not read each other's entries. The key adds a hash of the sorted keyword
    arguments, which may be plain values, dates, Decimals, UUIDs, enums, saved model instances (keyed by
    pk) and lists/sets/dicts of those. The result must be picklable and not a QuerySet (evaluate it).
    The undecorated function stays reachable as ``.__wrapped__``.
    """
    if ttl <= 0:
        raise ValueError("ttl must be a positive number of seconds")

    def decorate(func: Callable[P, T]) -> Callable[P, T]:
        qualname = getattr(func, "__qualname__", repr(func))
        name = _check_name(key or f"{func.__module__}.{qualname}", what="key")

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            if args:
                raise TypeError(f"{qualname} is a cached selector: call it with keyword arguments")
            entry_tags: Iterable[str] = tags(**kwargs) if callable(tags) else tags
            return cache_get_or_set(
                selector_cache_key(name, kwargs),
                lambda: func(**kwargs),  # type: ignore[call-arg]  # keyword-only, checked above
                tags=entry_tags,
                ttl=ttl,
            )

        return wrapper

    return decorate
