"""Sections of the ``/account/loyalty/`` page written by other modules (issue 7): referrals (L2) and
membership (L3). Each one registers a template and a context function; the page includes the registered
sections in ``order`` below the points, each template receiving its context as ``section``.

To add one, call ``account_section_register`` from ``LoyaltyConfig.ready()`` (loyalty/apps.py), e.g.::

    account_section_register(
        name="referrals", template="loyalty/_referrals.html", context=referral_section_context, order=20
    )

``context(user=..., now=...)`` returns a dict (query what it shows in few queries: the page has a
query-count test). Planned slots: "referrals" order 20, "membership" order 30.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from accounts.models import User

SectionContext = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class AccountSection:
    name: str
    template: str
    context: SectionContext
    order: int


_SECTIONS: dict[str, AccountSection] = {}


def account_section_register(*, name: str, template: str, context: SectionContext, order: int) -> None:
    """Show ``template`` on /account/loyalty/ (registering a name again replaces it)."""
    _SECTIONS[name] = AccountSection(name=name, template=template, context=context, order=order)


def account_sections(*, user: User, now: datetime) -> list[dict[str, Any]]:
    """The registered sections in order, each as ``{"name", "template", "context"}`` for the page."""
    return [
        {"name": s.name, "template": s.template, "context": s.context(user=user, now=now)}
        for s in sorted(_SECTIONS.values(), key=lambda s: (s.order, s.name))
    ]
