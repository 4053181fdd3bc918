"""Authentication backends: Django's and allauth's, with the user of a signed-in request read by a query
compiled once (``grasshopper.lib.db.CompiledSelect``).

Every authenticated request (a browser session or an API session token) calls ``get_user`` with the id from
the session; the ORM's ``get(pk=...)`` spends more CPU building its SQL than PostgreSQL spends answering it.
Signing in, permissions and everything else are the parents' own. The session records the backend's dotted
path, so sessions made under the old paths (``django.contrib.auth.backends.ModelBackend``, allauth's) ended
with this change: everyone signed in once more.
"""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.core.exceptions import ValidationError

from accounts.models import User
from grasshopper.lib.db import CompiledSelect

_USER_BY_ID = CompiledSelect(lambda pk: User._default_manager.filter(pk=pk))


class _CompiledGetUser:
    def get_user(self, user_id: Any) -> User | None:
        try:  # what the ORM's get(pk=...) would do with a session's id: an int, or nobody
            pk = User._meta.pk.to_python(user_id)  # type: ignore[union-attr]
        except ValidationError:
            return None
        user = _USER_BY_ID.first(pk)
        return user if user is not None and self.user_can_authenticate(user) else None  # type: ignore[attr-defined]


class ModelBackend(_CompiledGetUser, DjangoModelBackend):
    """``django.contrib.auth.backends.ModelBackend`` with a compiled ``get_user``."""


class AuthenticationBackend(_CompiledGetUser, AllauthBackend):
    """allauth's ``AuthenticationBackend`` (sign-in by email) with a compiled ``get_user``."""
