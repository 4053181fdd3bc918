"""Fixtures shared by every app's tests."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Rate limits and cached pages live in the cache; every test starts from an empty one."""
    cache.clear()
