"""The waitlist's pages, mounted at /waitlist/ by grasshopper.urls:

- ``join`` and ``leave`` (POST, from the event page's waitlist block or from "Your waitlists"): without
  JavaScript, back where the form was with a message; with htmx, the ticket type's block alone
  (``waitlist/_item.html``, its new state taking focus) and the message out of band.
- ``mine``: the signed-in user's waitlists, with their place in line and live offers (Pay now: the offer
  order's checkout page).
- ``verify`` and ``leave_by_token``: the links in a guest's emails (signed tokens, ``waitlist.signing``).
  GET only shows a page with one button (a mail scanner's prefetch changes nothing); POST confirms the
  place or leaves the line.

Who may act on an entry: its signed-in user, or the browser that joined or confirmed it (its id is kept in
the session, ``waitlist.pages``), or whoever holds its signed link. Anybody else gets 404, never 403: an
entry's existence is not revealed. Each view calls one service and shows its ApplicationError as a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.middleware import HtmxDetails
from django_ratelimit.decorators import ratelimit

from accounts.models import User
from events.models import TicketType
from grasshopper.lib.exceptions import ApplicationError
from waitlist import signing
from waitlist.exceptions import EntryNotFound, WaitlistAlreadyJoined, WaitlistTokenInvalid
from waitlist.forms import JoinForm
from waitlist.models import WaitlistEntry
from waitlist.pages import panel_item, session_entries, session_remember, visitor_user
from waitlist.selectors import entry_get_by_token, entry_list_ended_for_user, entry_list_for_user
from waitlist.selectors_visitor import (
    entry_get_for_visitor,
    offer_live_by_entry,
    ticket_type_get_for_waitlist,
)
from waitlist.services import entry_join, entry_leave, entry_verify

E = WaitlistEntry.Status


class HtmxHttpRequest(HttpRequest):
    """A request through django-htmx's middleware (for the type checker)."""

    htmx: HtmxDetails


def _event_url(ticket_type: TicketType) -> str:
    return reverse("events:detail", kwargs={"slug": ticket_type.event.slug})


def _back(request: HttpRequest, ticket_type: TicketType) -> str:
    """Where a form without JavaScript returns: its ``next`` if it is one of our pages, else the event
    page."""
    url = request.POST.get("next", "")
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=False):
        return url
    return _event_url(ticket_type)


def _answer(request: HtmxHttpRequest, ticket_type: TicketType) -> HttpResponse:
    """After join or leave: htmx gets the ticket type's block afresh, anyone else goes back."""
    back = _back(request, ticket_type)
    if not request.htmx:
        on_event_page = back == _event_url(ticket_type)
        return HttpResponseRedirect(back + (f"#waitlist-tt-{ticket_type.pk}" if on_event_page else ""))
    context = {
        "item": panel_item(ticket_type=ticket_type, request=request),
        "event": ticket_type.event,
        "back": back,
        "user": request.user,
        "focus": True,
        "oob_messages": True,
    }
    return render(request, "waitlist/_item.html", context)


@require_POST
@ratelimit(key="ip", rate="20/m", method="POST", block=True)
def join(request: HtmxHttpRequest) -> HttpResponse:
    """Join a sold-out ticket type's waitlist: a signed-in user is in line at once; a guest gives an email
    and is in line once they open the link we send ("check your email")."""
    form = JoinForm(request.POST)
    if not form.is_valid() and "ticket_type" in form.errors:
        raise Http404("No such ticket type")
    try:
        ticket_type = ticket_type_get_for_waitlist(ticket_type_id=int(request.POST["ticket_type"]))
    except ApplicationError:
        raise Http404("No such ticket type") from None
    user = visitor_user(request)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else None
            for error in errors:
                messages.error(request, f"{label}: {error}" if label else str(error))
        return _answer(request, ticket_type)
    try:
        entry = entry_join(
            ticket_type=ticket_type,
            quantity=form.cleaned_data["quantity"],
            user=user,
            email="" if user is not None else form.cleaned_data["email"],
        )
    except WaitlistAlreadyJoined as error:
        hint = "" if user is not None else " The link in our email shows your place in line."
        messages.info(request, error.message + hint)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        session_remember(request, entry)
        if entry.status == E.UNVERIFIED:
            messages.success(
                request, f"Check your email: we sent a link to {entry.email} to confirm your place."
            )
        else:
            messages.success(request, f"You joined the waitlist for {ticket_type.name}.")
    return _answer(request, ticket_type)


@require_POST
def leave(request: HtmxHttpRequest, entry_id: int) -> HttpResponse:
    """Leave the line in one click. An entry with a live offer declines it: the seats go to the next."""
    user = visitor_user(request)
    try:
        entry = entry_get_for_visitor(entry_id=entry_id, user=user, entry_ids=list(session_entries(request)))
    except EntryNotFound:
        raise Http404("No such waitlist entry") from None
    had_offer = entry.status == E.OFFERED
    try:
        entry_leave(entry=entry, actor=user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        name = entry.ticket_type.name
        if had_offer:
            messages.success(
                request, f"You left the waitlist for {name}: the tickets held for you go to the next in line."
            )
        else:
            messages.success(request, f"You left the waitlist for {name}.")
    return _answer(request, entry.ticket_type)


@require_safe
@login_required
@never_cache
def mine(request: HttpRequest) -> HttpResponse:
    """The signed-in user's waitlists: each with its place in line, or its live offer and Pay link; then
    those that ended lately (tickets bought, offer lapsed, event cancelled), so nobody finds them gone."""
    user = request.user
    if not isinstance(user, User):  # login_required ran first; this narrows the type
        raise Http404()
    entries = list(entry_list_for_user(user=user))
    ended = list(entry_list_ended_for_user(user=user))
    return render(request, "waitlist/mine.html", {"entries": entries, "ended": ended})


def _token_page(
    request: HttpRequest, template: str, context: dict[str, object], status: int = 200
) -> HttpResponse:
    response = render(request, template, context, status=status)
    # The token is in the URL: never send it on to another site, never index it. (Not "no-referrer": the
    # page's own form would then post with "Origin: null", which the CSRF check refuses.)
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


def _entry_context(entry: WaitlistEntry) -> dict[str, object]:
    offers = offer_live_by_entry(entries=[entry])
    return {
        "entry": entry,
        "offer": offers.get(entry.pk),
        "event": entry.ticket_type.event,
        "leave_token": signing.entry_token_make(entry=entry, purpose=signing.LEAVE),
    }


@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
def verify(request: HttpRequest, token: str) -> HttpResponse:
    """A guest's confirmation link: GET shows the entry and a "Confirm my place" button (or, once
    confirmed, the place in line); POST confirms it (idempotent) and comes back here."""
    try:
        entry = entry_get_by_token(token=token, purpose=signing.VERIFY)
    except WaitlistTokenInvalid as error:
        return _token_page(request, "waitlist/verify.html", {"error": error.message}, status=400)
    if request.method == "POST":
        try:
            entry_verify(token=token)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Your place on the waitlist is confirmed.")
        session_remember(request, entry)
        return HttpResponseRedirect(reverse("waitlist:verify", kwargs={"token": token}))
    session_remember(request, entry)  # the link proves the address: this browser may see the entry
    return _token_page(request, "waitlist/verify.html", {**_entry_context(entry), "token": token})


@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
def leave_by_token(request: HttpRequest, token: str) -> HttpResponse:
    """The "leave the waitlist" link in a guest's emails: GET asks, POST leaves (idempotent)."""
    try:
        entry = entry_get_by_token(token=token, purpose=signing.LEAVE)
    except WaitlistTokenInvalid as error:
        return _token_page(request, "waitlist/leave.html", {"error": error.message}, status=400)
    if request.method == "POST":
        had_offer = entry.status == E.OFFERED
        try:
            entry_leave(entry=entry, actor=visitor_user(request))
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            extra = ": the tickets held for you go to the next in line" if had_offer else ""
            messages.success(request, f"You left the waitlist for {entry.ticket_type.name}{extra}.")
        return HttpResponseRedirect(reverse("waitlist:leave_by_token", kwargs={"token": token}))
    return _token_page(request, "waitlist/leave.html", {**_entry_context(entry), "token": token})
