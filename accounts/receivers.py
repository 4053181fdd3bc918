"""Reactions of the accounts app to framework signals (connected in ``AccountsConfig.ready``)."""

from typing import Any

import structlog
from django.http import HttpRequest

from accounts.ratelimits import client_ip

security_log = structlog.get_logger("security")


def log_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """Every failed sign-in, on the ``security`` logger: who was tried, from where; never the password.

    Django sends ``user_login_failed`` with the password already masked; we log only the login name.
    """
    login = credentials.get("email") or credentials.get("username")
    security_log.warning(
        "login_failed",
        email=str(login) if login else None,
        ip=client_ip(request) if request is not None else None,
        path=request.path if request is not None else None,
    )
