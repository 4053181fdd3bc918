"""System checks of the Stripe configuration: production never runs on the fake or without keys.

``manage.py check`` (and so every ``runserver``, ``migrate`` and the deploy's ``check --deploy``) stops with
an Error when DEBUG is off and either ``STRIPE_OFFLINE`` is on (payments would be simulated) or the keys are
missing, malformed or disagree with ``STRIPE_LIVE_MODE``.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core import checks

# The shape dj-stripe accepts (anything else makes it raise InvalidStripeAPIKey inside webhooks).
KEY_PATTERN = re.compile(r"^(pk|sk|rk)_(test|live)_[a-zA-Z0-9]{24,}$")


@checks.register(checks.Tags.compatibility)
def check_stripe_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Errors: offline mode without DEBUG; missing or malformed keys; keys of the other mode."""
    errors: list[checks.CheckMessage] = []
    if settings.STRIPE_OFFLINE:
        if not settings.DEBUG:
            errors.append(
                checks.Error(
                    "STRIPE_OFFLINE is on while DJANGO_DEBUG is off: payments would be simulated.",
                    hint="Set STRIPE_OFFLINE=false and the Stripe keys (see .env.example).",
                    id="orders.E101",
                )
            )
        return errors

    secret = settings.STRIPE_SECRET_KEY
    publishable = settings.STRIPE_PUBLISHABLE_KEY
    for name, value, kinds in (
        ("STRIPE_SECRET_KEY", secret, ("sk", "rk")),
        ("STRIPE_PUBLISHABLE_KEY", publishable, ("pk",)),
    ):
        match = KEY_PATTERN.match(value)
        if not value:
            errors.append(
                checks.Error(
                    f"{name} is not set: Stripe payments cannot work.",
                    hint="Set it from the Stripe dashboard (Developers > API keys), or STRIPE_OFFLINE=true "
                    "with DJANGO_DEBUG=true for local development.",
                    id="orders.E102",
                )
            )
        elif match is None or match.group(1) not in kinds:
            errors.append(
                checks.Error(
                    f"{name} does not look like a Stripe {'/'.join(kinds)}_ key.",
                    hint="Copy the key again from the Stripe dashboard (Developers > API keys).",
                    id="orders.E103",
                )
            )
        elif (match.group(2) == "live") != bool(settings.STRIPE_LIVE_MODE):
            errors.append(
                checks.Error(
                    f"{name} is a {match.group(2)} key but STRIPE_LIVE_MODE is "
                    f"{'on' if settings.STRIPE_LIVE_MODE else 'off'}.",
                    hint="Use the keys of the mode you run in, or fix STRIPE_LIVE_MODE.",
                    id="orders.E104",
                )
            )
    return errors
