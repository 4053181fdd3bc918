"""The inbox pages: ``/account/notifications/`` (list, mark read, mark all read, the marketing-email
preference), the bell fragment the header refreshes, and the unsubscribe link from the email footer.

Every form is a plain POST that works without JavaScript (then a redirect back, with a message). With
htmx the mark-read forms swap the list in place and send ``HX-Trigger: notifications-changed``, on which
the bell in the header refreshes itself. Each view calls one service or selector.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.middleware import HtmxDetails

from accounts.models import User
from grasshopper.lib.exceptions import ApplicationError
from notifications import selectors, services_inbox
from notifications.forms import MarkReadForm, PreferenceForm

PAGE_SIZE = 20
# The event the bell listens for (templates: notifications/_bell.html).
CHANGED_EVENT = "notifications-changed"


class HtmxHttpRequest(HttpRequest):
    """A request through django-htmx's middleware (for the type checker)."""

    htmx: HtmxDetails


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # login_required ran first; this narrows the type
        raise PermissionError("signed-in user expected")
    return user


def _page_number(request: HttpRequest) -> int:
    raw = request.POST.get("page") or request.GET.get("page") or "1"
    return int(raw) if raw.isdigit() and int(raw) > 0 else 1


def _inbox_context(
    request: HttpRequest, *, page_number: int, focus_heading: bool = False, focus_id: int | None = None
) -> dict[str, object]:
    user = _user(request)
    paginator = Paginator(selectors.notification_list(user=user), PAGE_SIZE)
    page = paginator.get_page(page_number)
    return {
        "page": page,
        "notifications": list(page.object_list),
        "unread_count": selectors.notification_unread_count(user=user),
        "focus_heading": focus_heading,
        "focus_id": focus_id,
    }


def _inbox_url(page_number: int) -> str:
    url = reverse("notifications:inbox")
    return f"{url}?page={page_number}" if page_number > 1 else url


@require_safe
@login_required
@never_cache
def inbox(request: HttpRequest) -> HttpResponse:
    """The signed-in user's notifications, newest first, 20 a page; unread ones marked; the preference
    form below."""
    context = _inbox_context(request, page_number=_page_number(request))
    pref = services_inbox.preference_get(user=_user(request))
    context["preference_form"] = PreferenceForm(initial={"marketing_email": pref.marketing_email})
    return render(request, "notifications/inbox.html", context)


@require_POST
@login_required
@never_cache
def mark_read(request: HtmxHttpRequest) -> HttpResponse:
    """Mark one notification read (``id``) or all of them (``all``). Without JavaScript: back to the same
    page of the inbox with a message. With htmx: the list again (focus on what was marked), the message
    out of band, and ``HX-Trigger: notifications-changed`` so the bell refreshes."""
    form = MarkReadForm(request.POST)
    page_number = _page_number(request)
    focus_heading = False
    focus_id: int | None = None
    if not form.is_valid():
        messages.error(request, "Choose a notification to mark as read.")
    else:
        ids = None if form.cleaned_data["all"] else [form.cleaned_data["id"]]
        try:
            services_inbox.notifications_mark_read(user=_user(request), ids=ids)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            if ids is None:
                messages.success(request, "All notifications are marked as read.")
                focus_heading = True
            else:
                messages.success(request, "Notification marked as read.")
                focus_id = ids[0]
    if not request.htmx:
        return HttpResponseRedirect(_inbox_url(page_number))
    response = render(
        request,
        "notifications/_inbox_list.html",
        {
            **_inbox_context(
                request, page_number=page_number, focus_heading=focus_heading, focus_id=focus_id
            ),
            "oob_messages": True,
        },
    )
    response["HX-Trigger"] = CHANGED_EVENT
    return response


@require_POST
@login_required
@never_cache
def preferences(request: HttpRequest) -> HttpResponse:
    """Save the marketing-email choice (transactional email is not a choice: it always arrives)."""
    form = PreferenceForm(request.POST)
    if form.is_valid():
        enabled = form.cleaned_data["marketing_email"]
        services_inbox.preference_set_marketing(user=_user(request), enabled=enabled)
        if enabled:
            messages.success(request, "You will get news and offers by email.")
        else:
            messages.success(request, "You will no longer get news and offers by email.")
    else:
        messages.error(request, "Your email preferences could not be saved.")
    return HttpResponseRedirect(reverse("notifications:inbox") + "#email-preferences")


@require_safe
@never_cache
def bell(request: HttpRequest) -> HttpResponse:
    """The bell with the unread count, for the header's htmx refresh (every 60 s and after mark-read).
    Signed out: 204, which htmx leaves alone (and the header has no bell for anonymous pages anyway)."""
    if not request.user.is_authenticated:
        return HttpResponse(status=204)
    count = selectors.notification_unread_count(user=request.user)
    return render(request, "notifications/_bell.html", {"unread_count": count})


@csrf_exempt  # the signed token is the credential; mail providers' one-click POST has no cookie or form token
@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The link in every marketing email. GET (or a link scanner's prefetch) only shows a page with one
    button; POST switches marketing email off: the button, or a mail provider's RFC 8058 one-click POST
    (``List-Unsubscribe=One-Click``) from its own Unsubscribe button. A forged or tampered token: 400 and
    nothing changes.

    No rate limit: the one-click POSTs of many users arrive from the same few mail-provider addresses
    (throttling them would drop real unsubscribes), and an HMAC-signed token cannot be guessed."""
    try:
        if request.method == "POST":
            user = services_inbox.unsubscribe(token=token)
            done = True
        else:
            user = services_inbox.unsubscribe_user(token=token)
            done = False
    except services_inbox.UnsubscribeTokenInvalid as error:
        response = render(request, "notifications/unsubscribe.html", {"error": error.message}, status=400)
    else:
        response = render(
            request,
            "notifications/unsubscribe.html",
            {"done": done, "email": user.email, "token": token},
        )
    # The token is in the URL: never send it on to another site.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response
