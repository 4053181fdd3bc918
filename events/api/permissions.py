"""Who may do what through the events API. The rules themselves live in ``events.permissions`` (shared with
the admin); these classes only ask them.

- Reading is public. Drafts are filtered out by the selectors (visible to their organizer's staff only).
- Writing needs an owner or manager role: anonymous users get 401, users without such a role 403.
- An event of an organizer the user does not work for is not found (404) for writes: nobody learns that a
  slug exists. A box-office member of the event's organizer finds it but may not change it (403).
"""

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from events.models import Event
from events.permissions import user_can_create_events, user_can_edit_event


class EventPermission(BasePermission):
    message = "Only an organizer's owners and managers may change its events."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        # Anonymous: False here makes DRF answer 401 (the view has authenticators).
        return bool(request.user.is_authenticated and user_can_create_events(user=request.user))

    def has_object_permission(self, request: Request, view: Any, obj: Event) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return user_can_edit_event(user=request.user, event=obj)
