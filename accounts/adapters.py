from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import BaseForm
from django.http import HttpRequest

from accounts.ratelimits import client_ip, refuse


class AccountAdapter(DefaultAccountAdapter):
    """Our django-allauth adapter.

    Failed logins are logged on the ``security`` logger by ``accounts.receivers`` (Django's
    ``user_login_failed`` signal); rate-limit hits by ``accounts.ratelimits.refuse``.
    """

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """Too many failed logins answer 429, not allauth's form error with status 200."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError as error:
            if error.code != "too_many_login_attempts":
                raise
            refuse(request, limit="login_failed", email=credentials.get("email"))

    def get_client_ip(self, request: HttpRequest) -> str:
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ip

    def save_user(
        self, request: HttpRequest, user: AbstractBaseUser, form: BaseForm, commit: bool = True
    ) -> AbstractBaseUser:
        """Keep the optional full name of the sign-up form (``accounts.forms.SignupForm``)."""
        full_name = form.cleaned_data.get("full_name") or ""
        user.full_name = full_name.strip()  # type: ignore[attr-defined]
        return super().save_user(request, user, form, commit=commit)
