"""The staff admin for waitlists (django-unfold). Thin: every button calls one ``waitlist.services`` function.

- **Waitlists**, one per ticket type: people waiting, unconfirmed guests, seats withheld, live offers and
  conversions (offers paid) against lapsed and declined ones, paused or not, lottery drawn or not. On a
  waitlist's page: the line in order (rank), the offers, and the audit trail. Buttons: pause, resume,
  release the withheld seats to the public (which pauses), draw the lottery.
- **Entries**: "Move in line" (to a rank, with a reason: an audit row) and "Remove from line". Only staff
  change the order of the line, and only here.

The rule the line follows (see ``waitlist.services``): freed seats are offered in order to the first
waiting entries whose whole quantity fits; an entry wanting more than is free keeps its place; seats that
fit nobody yet are withheld from the public (``withheld``) until they fit someone, nobody waits any more,
or staff release them.

Who sees what follows the catalogue's rule (``events.permissions``): superusers see every waitlist;
organizer staff see their own events' waitlists, and owners and managers may act on them.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminIntegerFieldWidget, UnfoldAdminTextInputWidget

from accounts.models import User
from events import permissions
from grasshopper.lib.exceptions import ApplicationError
from waitlist import selectors, services
from waitlist.models import Waitlist, WaitlistAction, WaitlistEntry, WaitlistOffer

E = WaitlistEntry.Status


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _scoped(request: HttpRequest, queryset: QuerySet[Any], path: str) -> QuerySet[Any]:
    """``queryset`` narrowed to the user's organizers' events (``path`` leads to the event's organizer)."""
    if permissions.user_acts_for_all_organizers(user=request.user):
        return queryset
    return queryset.filter(**{f"{path}__in": permissions.organizer_ids_for_user(user=request.user)})


class WaitlistDoorsMixin:
    """Organizer staff may look; nobody adds, changes or deletes rows through forms (services do)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return permissions.user_is_organizer_staff(user=request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.user_is_organizer_staff(user=request.user)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _table(head: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    """A small read-only table for a change page (every value escaped)."""
    if not rows:
        return "—"
    header = format_html_join("", '<th scope="col">{}</th>', ((h,) for h in head))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((v,) for v in row)),) for row in rows)
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", header, body)


def _can_act(request: HttpRequest, ticket_type_event: Any) -> bool:
    return permissions.user_can_edit_event(user=request.user, event=ticket_type_event)


# --- inlines (read-only) ----------------------------------------------------------------------------------


class ReadOnlyInline(WaitlistDoorsMixin, TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    tab = True


class ActionInline(ReadOnlyInline):
    model = WaitlistAction
    verbose_name = "staff move"
    verbose_name_plural = "audit"
    fields = ("created", "kind", "entry", "from_position", "to_position", "seats", "reason", "actor")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[WaitlistAction]:
        return super().get_queryset(request).select_related("entry", "actor")


# --- waitlists --------------------------------------------------------------------------------------------


@admin.register(Waitlist)
class WaitlistAdmin(WaitlistDoorsMixin, ModelAdmin):
    list_display = (
        "ticket_type_name",
        "event_title",
        "waiting",
        "unverified",
        "withheld",
        "offers_live",
        "offers_accepted",
        "offers_lapsed",
        "offers_declined",
        "paused_label",
        "lottery",
    )
    list_filter = ("paused",)
    search_fields = ("ticket_type__name", "ticket_type__event__title")
    ordering = ("-ticket_type__event__starts_at", "ticket_type_id")
    readonly_fields = (
        "ticket_type",
        "paused",
        "withheld",
        "rule",
        "line",
        "offers",
        "lottery_seed",
        "lottery_drawn_at",
        "lottery_cutoff",
        "lottery_order",
        "lottery_actor",
        "lottery_replays",
    )
    fieldsets = (
        (None, {"fields": ("ticket_type", "paused", "withheld", "rule")}),
        ("Line and offers", {"fields": ("line", "offers")}),
        (
            "Lottery",
            {
                "fields": (
                    "lottery_seed",
                    "lottery_drawn_at",
                    "lottery_cutoff",
                    "lottery_order",
                    "lottery_actor",
                    "lottery_replays",
                )
            },
        ),
    )
    inlines: list[Any] = [ActionInline]
    actions = ["pause_selected", "resume_selected"]
    actions_detail = ["pause", "resume", "release_to_public", "draw_lottery", "show_line"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Waitlist]:
        return _scoped(request, selectors.waitlist_list_for_admin(), "ticket_type__event__organizer_id")

    @display(description="Ticket type", ordering="ticket_type__name")
    def ticket_type_name(self, obj: Waitlist) -> str:
        return obj.ticket_type.name

    @display(description="Event", ordering="ticket_type__event__starts_at")
    def event_title(self, obj: Waitlist) -> str:
        return obj.ticket_type.event.title

    @display(description="Waiting", ordering="waiting")
    def waiting(self, obj: Waitlist) -> int:
        return obj.waiting  # type: ignore[attr-defined]

    @display(description="Unconfirmed guests")
    def unverified(self, obj: Waitlist) -> int:
        return obj.unverified  # type: ignore[attr-defined]

    @display(description="Seats withheld")
    def withheld(self, obj: Waitlist) -> int:
        return obj.ticket_type.withheld

    @display(description="Live offers")
    def offers_live(self, obj: Waitlist) -> int:
        return obj.offers_live  # type: ignore[attr-defined]

    @display(description="Converted (paid)")
    def offers_accepted(self, obj: Waitlist) -> int:
        return obj.offers_accepted  # type: ignore[attr-defined]

    @display(description="Lapsed")
    def offers_lapsed(self, obj: Waitlist) -> int:
        return obj.offers_lapsed  # type: ignore[attr-defined]

    @display(description="Declined")
    def offers_declined(self, obj: Waitlist) -> int:
        return obj.offers_declined  # type: ignore[attr-defined]

    @display(description="State", label={"Paused": "warning", "Active": "success"})
    def paused_label(self, obj: Waitlist) -> str:
        return "Paused" if obj.paused else "Active"

    @display(description="Lottery")
    def lottery(self, obj: Waitlist) -> str:
        if obj.lottery_drawn_at:
            return f"drawn {obj.lottery_drawn_at:%Y-%m-%d %H:%M}"
        return "to draw" if obj.ticket_type.event.waitlist_lottery else "—"

    @display(description="Rule")
    def rule(self, obj: Waitlist) -> str:
        return (
            "Freed seats are offered in order to the first waiting entries whose whole quantity "
            "fits; an entry wanting more than is free keeps its place. Seats that fit nobody yet are "
            "withheld from the public until they fit someone, nobody waits any more, or you release "
            "them (which pauses the waitlist)."
        )

    @display(description="The line (first 50)")
    def line(self, obj: Waitlist) -> str:
        rows = selectors.entry_list_for_waitlist(ticket_type_id=obj.ticket_type_id).filter(
            status__in=(E.WAITING, E.OFFERED, E.UNVERIFIED)
        )[:50]
        return _table(
            ("Rank", "Email", "Seats", "Status", "Joined"),
            [
                (
                    getattr(e, "rank", None) or "—",
                    e.email,
                    e.quantity,
                    e.get_status_display(),
                    f"{e.joined_at:%Y-%m-%d %H:%M}" if e.joined_at else "—",
                )
                for e in rows
            ],
        )

    @display(description="Offers (latest 50)")
    def offers(self, obj: Waitlist) -> str:
        rows = selectors.offer_list_for_waitlist(ticket_type_id=obj.ticket_type_id)[:50]
        return _table(
            ("Email", "Order", "Seats", "Status", "Expires"),
            [
                (
                    o.entry.email,
                    o.order.code,
                    o.quantity,
                    o.get_status_display(),
                    f"{o.expires_at:%Y-%m-%d %H:%M}",
                )
                for o in rows
            ],
        )

    @display(description="Replaying the seed gives the recorded order")
    def lottery_replays(self, obj: Waitlist) -> str:
        if obj.lottery_seed is None:
            return "—"
        return "yes" if selectors.waitlist_lottery_replay(waitlist=obj) else "NO"

    # --- buttons (each calls one service) ---

    def has_act_permission(self, request: HttpRequest, object_id: Any = None) -> bool:
        if object_id is None:
            return permissions.user_is_organizer_staff(user=request.user, roles=permissions.EDIT_ROLES)
        waitlist = self.get_object(request, unquote(str(object_id)))
        return waitlist is not None and _can_act(request, waitlist.ticket_type.event)

    def _confirm(
        self, request: HttpRequest, object_id: str, *, title: str, explanation: str, work: Any, done: str
    ) -> HttpResponse:
        """GET: the confirmation page (with an optional reason for the audit); POST: one service call."""
        waitlist = self.get_object(request, unquote(object_id))
        if waitlist is None:
            raise Http404("No such waitlist")
        change_url = reverse("admin:waitlist_waitlist_change", args=[waitlist.pk])
        form = ReasonForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                result = work(waitlist, form.cleaned_data["reason"])
            except ApplicationError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, done.format(result=result))
            return HttpResponseRedirect(change_url)
        return _action_page(
            request,
            self,
            title=title,
            subject=str(waitlist.ticket_type),
            explanation=explanation,
            form=form,
            change_url=change_url,
        )

    @action(description="Pause", url_path="pause", permissions=["act"])
    def pause(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._confirm(
            request,
            object_id,
            title="Pause the waitlist",
            explanation="No offers are made and nobody new joins; seats freed meanwhile go on public sale. "
            "Live offers run their course; withheld seats stay withheld.",
            work=lambda w, reason: services.waitlist_pause(
                ticket_type=w.ticket_type, actor=_actor(request), reason=reason
            ),
            done="Paused.",
        )

    @action(description="Resume", url_path="resume", permissions=["act"])
    def resume(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._confirm(
            request,
            object_id,
            title="Resume the waitlist",
            explanation="Free and withheld seats are offered to the line at once.",
            work=lambda w, reason: services.waitlist_resume(
                ticket_type=w.ticket_type, actor=_actor(request), reason=reason
            ),
            done="Resumed: free and withheld seats are offered to the line.",
        )

    @action(description="Release withheld seats to the public", url_path="release", permissions=["act"])
    def release_to_public(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._confirm(
            request,
            object_id,
            title="Release withheld seats to the public",
            explanation="The seats withheld for the line go on public sale and the waitlist is paused, so "
            "they are not taken back. Live offers run their course.",
            work=lambda w, reason: services.waitlist_release_to_public(
                ticket_type=w.ticket_type, actor=_actor(request), reason=reason
            ),
            done="{result} withheld seats are on public sale; the waitlist is paused.",
        )

    @action(description="Draw the lottery", url_path="draw", permissions=["act"])
    def draw_lottery(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._confirm(
            request,
            object_id,
            title="Draw the lottery",
            explanation="The people in line who joined before sales opened are put in a random order, "
            "once; the seed is recorded so the draw can be replayed. It is drawn automatically when sales "
            "open.",
            work=lambda w, reason: services.waitlist_lottery_draw(
                ticket_type=w.ticket_type, actor=_actor(request)
            ),
            done="The lottery is drawn; its seed is recorded.",
        )

    @action(description="The line", url_path="line")
    def show_line(self, request: HttpRequest, object_id: str) -> HttpResponse:
        waitlist = self.get_object(request, unquote(object_id))
        if waitlist is None:
            raise Http404("No such waitlist")
        url = reverse("admin:waitlist_waitlistentry_changelist")
        return HttpResponseRedirect(f"{url}?ticket_type={waitlist.ticket_type_id}")

    @admin.action(description="Pause the selected waitlists", permissions=["act"])
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[Waitlist]) -> None:
        for waitlist in queryset.select_related("ticket_type__event"):
            if _can_act(request, waitlist.ticket_type.event):
                services.waitlist_pause(ticket_type=waitlist.ticket_type, actor=_actor(request))
        messages.success(request, "Paused.")

    @admin.action(description="Resume the selected waitlists", permissions=["act"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Waitlist]) -> None:
        for waitlist in queryset.select_related("ticket_type__event"):
            if _can_act(request, waitlist.ticket_type.event):
                services.waitlist_resume(ticket_type=waitlist.ticket_type, actor=_actor(request))
        messages.success(request, "Resumed.")


# --- entries ----------------------------------------------------------------------------------------------


class TicketTypeFilter(admin.SimpleListFilter):
    """The ticket types that have a waitlist (one query, with their events)."""

    title = "ticket type"
    parameter_name = "ticket_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        waitlists = _scoped(
            request, Waitlist.objects.select_related("ticket_type__event"), "ticket_type__event__organizer_id"
        )
        return [(str(w.ticket_type_id), str(w.ticket_type)) for w in waitlists.order_by("ticket_type_id")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(ticket_type_id=value) if value and value.isdigit() else queryset


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=200,
        required=False,
        widget=UnfoldAdminTextInputWidget,
        help_text="Kept in the waitlist's audit trail with your name.",
    )


def _action_page(
    request: HttpRequest,
    model_admin: Any,
    *,
    title: str,
    subject: str,
    explanation: str,
    form: forms.Form,
    change_url: str,
) -> HttpResponse:
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "title": title,
        "subject": subject,
        "explanation": explanation,
        "form": form,
        "change_url": change_url,
        "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
    }
    return TemplateResponse(request, "admin/waitlist/action_form.html", context)


class MoveForm(forms.Form):
    position = forms.IntegerField(
        label="New position", min_value=1, widget=UnfoldAdminIntegerFieldWidget, help_text="1 = next in line."
    )
    reason = forms.CharField(
        label="Reason",
        max_length=200,
        widget=UnfoldAdminTextInputWidget,
        help_text="Kept in the waitlist's audit trail with your name.",
    )


class RemoveForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=200,
        widget=UnfoldAdminTextInputWidget,
        help_text="Kept in the waitlist's audit trail. A live offer is declined and its seats passed on.",
    )


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(WaitlistDoorsMixin, ModelAdmin):
    list_display = ("rank_shown", "email", "quantity", "status", "ticket_type", "joined_at")
    list_filter = ("status", TicketTypeFilter)
    search_fields = ("email", "ticket_type__name", "ticket_type__event__title")
    readonly_fields = (
        "ticket_type",
        "user",
        "email",
        "quantity",
        "status",
        "rank_shown",
        "joined_at",
        "verified_at",
        "left_at",
        "created",
    )
    fields = readonly_fields
    inlines: list[Any] = []
    actions_detail = ["move", "remove"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WaitlistEntry]:
        return _scoped(request, selectors.entry_list_for_admin(), "ticket_type__event__organizer_id")

    @display(description="Rank")
    def rank_shown(self, obj: WaitlistEntry) -> str:
        rank = getattr(obj, "rank", None)
        return str(rank) if rank else "—"

    def has_act_permission(self, request: HttpRequest, object_id: Any = None) -> bool:
        if object_id is None:
            return permissions.user_is_organizer_staff(user=request.user, roles=permissions.EDIT_ROLES)
        entry = self.get_object(request, unquote(str(object_id)))
        return entry is not None and _can_act(request, entry.ticket_type.event)

    def _form_page(
        self,
        request: HttpRequest,
        object_id: str,
        form_class: type[forms.Form],
        title: str,
        explanation: str,
        run: Any,
    ) -> HttpResponse:
        entry = self.get_object(request, unquote(object_id))
        if entry is None:
            raise Http404("No such entry")
        change_url = reverse("admin:waitlist_waitlistentry_change", args=[entry.pk])
        form = form_class(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                message = run(entry, form.cleaned_data)
            except ApplicationError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, message)
                return HttpResponseRedirect(change_url)
        return _action_page(
            request,
            self,
            title=title,
            subject=f"{entry.email} ({entry.ticket_type})",
            explanation=explanation,
            form=form,
            change_url=change_url,
        )

    @action(description="Move in line", url_path="move", permissions=["act"])
    def move(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def run(entry: WaitlistEntry, data: dict[str, Any]) -> str:
            services.entry_move(
                entry=entry, to_position=data["position"], actor=_actor(request), reason=data["reason"]
            )
            return f"{entry.email} is now number {data['position']} in line."

        return self._form_page(
            request,
            object_id,
            MoveForm,
            "Move in line",
            "Only staff change the order of the line; the move is kept in the audit trail with your name.",
            run,
        )

    @action(description="Remove from line", url_path="remove", permissions=["act"])
    def remove(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def run(entry: WaitlistEntry, data: dict[str, Any]) -> str:
            services.entry_remove(entry=entry, actor=_actor(request), reason=data["reason"])
            return f"{entry.email} is out of the line."

        return self._form_page(
            request,
            object_id,
            RemoveForm,
            "Remove from line",
            "A live offer is declined and its seats go to the next in line.",
            run,
        )


@admin.register(WaitlistOffer)
class WaitlistOfferAdmin(WaitlistDoorsMixin, ModelAdmin):
    """Every offer, read-only: to whom, which order holds the seats, and how it ended."""

    list_display = ("created", "entry", "order", "quantity", "status", "expires_at", "decided_at")
    list_select_related = ("entry", "order")
    list_filter = ("status",)
    search_fields = ("entry__email", "order__code")
    readonly_fields = (
        "entry",
        "ticket_type",
        "order",
        "quantity",
        "status",
        "expires_at",
        "decided_at",
        "created",
    )
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[WaitlistOffer]:
        return _scoped(request, super().get_queryset(request), "ticket_type__event__organizer_id")
