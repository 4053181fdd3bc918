"""The staff admin for orders (django-unfold): orders with their payments, refunds, tickets and history
(read-only: only the services move money and seats), a refund page for one order (everything, or chosen
tickets), the staff queue ("Needs attention"), the list of refunds, and on the event admin the organizer's
"Refund all paid orders" of a cancelled event with the job's progress.

Who sees what follows the catalogue's rule (``events.permissions``): superusers see every order; organizer
staff see the orders of their own organizers' events, and owners and managers may refund them (box office
staff only look). Another organizer's order is a 404, as if it did not exist.

The event admin's extra action lives here, not in ``events.admin``: the catalogue may not import orders
(DESIGN.md section 1), so this module registers a subclass of ``events.admin.EventAdmin`` in its place.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display
from unfold.widgets import (
    UnfoldAdminCheckboxSelectMultipleWidget,
    UnfoldAdminRadioSelectWidget,
    UnfoldAdminTextInputWidget,
)

from accounts.models import User
from events import permissions
from events.admin import EventAdmin as CatalogueEventAdmin
from events.models import Event
from grasshopper.lib.exceptions import ApplicationError
from orders.models import Order, OrderEvent, Payment, Refund, Ticket
from orders.services_payments import (
    REFUNDABLE,
    event_refund_all_start,
    event_refund_job_get,
    order_refund,
    order_refundable_amount,
)

S = Order.Status
STATUS_LABELS = {
    S.PENDING.label: "info",
    S.PAID.label: "success",
    S.EXPIRED.label: "warning",
    S.CANCELLED.label: "warning",
    S.PARTIALLY_REFUNDED.label: "info",
    S.REFUNDED.label: "info",
    S.PAID_UNFULFILLABLE.label: "danger",
}


# --- who may see and refund which orders ------------------------------------------------------------------


def orders_for_user(*, user: Any, queryset: QuerySet[Order]) -> QuerySet[Order]:
    """``queryset`` narrowed to the orders of the events the user may see (all of them for superusers)."""
    if permissions.user_acts_for_all_organizers(user=user):
        return queryset
    return queryset.filter(event__organizer_id__in=permissions.organizer_ids_for_user(user=user))


def user_can_refund(*, user: Any, order: Order) -> bool:
    """Superusers, and the owners and managers of the order's organizer (not box office staff)."""
    return permissions.user_can_edit_event(user=user, event=order.event)


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


class OrdersDoorsMixin:
    """The admin's doors for order rows: organizer staff (any role) may look, nobody adds, changes or deletes
    through a form. Django's model permissions are not asked: the organizer rule decides, as for events."""

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


# --- inlines (read-only) ----------------------------------------------------------------------------------


class ReadOnlyInline(OrdersDoorsMixin, TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    tab = True


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = (
        "created",
        "kind",
        "attempt",
        "status",
        "amount",
        "amount_refunded",
        "currency",
        "stripe_checkout_session_id",
        "stripe_payment_intent_id",
        "failure_message",
    )
    readonly_fields = fields
    ordering = ("created", "id")


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = (
        "created",
        "status",
        "source",
        "amount",
        "currency",
        "reason",
        "actor",
        "stripe_refund_id",
        "failure_reason",
    )
    readonly_fields = fields
    ordering = ("created", "id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Refund]:
        return super().get_queryset(request).select_related("actor")


class TicketInline(ReadOnlyInline):
    model = Ticket
    fields = ("id", "ticket_type", "holder_name", "status", "checked_in_at")
    readonly_fields = fields
    ordering = ("id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        return super().get_queryset(request).select_related("ticket_type")


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    verbose_name = "move"
    verbose_name_plural = "history"
    fields = ("created", "from_status", "to_status", "reason", "money_delta", "seats_delta", "actor")
    readonly_fields = fields
    ordering = ("created", "id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderEvent]:
        return super().get_queryset(request).select_related("actor")


# --- filters ----------------------------------------------------------------------------------------------


class NeedsAttentionFilter(admin.SimpleListFilter):
    """The staff queue: orders a person must look at (late payment without seats, a dashboard refund to
    assign, a failed refund, a dispute, a payment not matching its order)."""

    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Needs attention"), ("no", "Nothing to do")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        if self.value() == "yes":
            return queryset.exclude(needs_attention="")
        if self.value() == "no":
            return queryset.filter(needs_attention="")
        return queryset


# --- the refund page --------------------------------------------------------------------------------------


class TicketChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        label = f"#{obj.pk} {obj.ticket_type.name}"
        if obj.holder_name:
            label += f" ({obj.holder_name})"
        return label + (" (checked in)" if obj.status == Ticket.Status.USED else "")


class RefundForm(forms.Form):
    """Everything still refundable, or chosen valid tickets; always with a reason (kept on the refund)."""

    scope = forms.ChoiceField(
        label="Refund",
        choices=[
            ("all", "The whole order (everything not refunded yet)"),
            ("tickets", "Only the tickets below"),
        ],
        initial="all",
        widget=UnfoldAdminRadioSelectWidget,
    )
    tickets = TicketChoiceField(
        label="Tickets",
        queryset=Ticket.objects.none(),
        required=False,
        widget=UnfoldAdminCheckboxSelectMultipleWidget,
        help_text="Each chosen ticket becomes void and its seat goes back on sale.",
    )
    reason = forms.CharField(
        label="Reason",
        max_length=200,
        widget=UnfoldAdminTextInputWidget,
        help_text="Kept with the refund and in the order's history.",
    )

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelMultipleChoiceField, self.fields["tickets"])
        field.queryset = (
            order.tickets.exclude(status=Ticket.Status.VOID).select_related("ticket_type").order_by("id")
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("scope") == "tickets" and not cleaned.get("tickets"):
            self.add_error("tickets", "Choose at least one ticket, or refund the whole order.")
        return cleaned

    def chosen_tickets(self) -> list[Ticket] | None:
        """None: everything refundable."""
        if self.cleaned_data["scope"] == "all":
            return None
        return list(self.cleaned_data["tickets"])


# --- orders -----------------------------------------------------------------------------------------------


@admin.register(Order)
class OrderAdmin(OrdersDoorsMixin, ModelAdmin):
    list_display = ("code", "event", "email", "status_label", "total_money", "created", "attention")
    list_select_related = ("event",)
    search_fields = ("code", "email", "buyer_name", "event__title")
    ordering = ("-created", "-id")
    date_hierarchy = "created"
    readonly_fields = (
        "code",
        "event",
        "buyer",
        "email",
        "buyer_name",
        "status",
        "currency",
        "subtotal",
        "discount_total",
        "total",
        "refundable",
        "expires_at",
        "paid_at",
        "payment_provider",
        "payment_reference",
        "needs_attention",
        "created",
        "modified",
    )
    fieldsets = (
        (None, {"fields": ("code", "event", "status", "needs_attention")}),
        ("Buyer", {"fields": ("buyer", "email", "buyer_name")}),
        (
            "Money",
            {
                "fields": (
                    ("subtotal", "discount_total", "total", "currency"),
                    "refundable",
                    "payment_provider",
                    "payment_reference",
                )
            },
        ),
        ("Record", {"fields": ("expires_at", "paid_at", "created", "modified")}),
    )
    inlines = [TicketInline, PaymentInline, RefundInline, OrderEventInline]
    actions_detail = ["refund_order"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return orders_for_user(user=request.user, queryset=super().get_queryset(request))

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters: list[Any] = [NeedsAttentionFilter, "status"]
        if permissions.user_acts_for_all_organizers(user=request.user):
            filters.append(("event__organizer", admin.RelatedOnlyFieldListFilter))
        return filters

    @display(description="Status", ordering="status", label=STATUS_LABELS)
    def status_label(self, obj: Order) -> str:
        return obj.get_status_display()

    @display(description="Total", ordering="total")
    def total_money(self, obj: Order) -> str:
        return f"{obj.total} {obj.currency}"

    @display(description="Needs attention")
    def attention(self, obj: Order) -> str:
        return obj.needs_attention or "—"

    @display(description="Left to refund")
    def refundable(self, obj: Order) -> str:
        return f"{order_refundable_amount(order=obj)} {obj.currency}" if obj.pk else "—"

    # --- the refund page ---

    def has_refund_permission(self, request: HttpRequest, object_id: Any = None) -> bool:
        if object_id is None:
            return permissions.user_is_organizer_staff(user=request.user, roles=permissions.EDIT_ROLES)
        order = self.get_object(request, unquote(str(object_id)))
        return order is not None and user_can_refund(user=request.user, order=order)

    @action(description="Refund", url_path="refund", permissions=["refund"])
    def refund_order(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Refund everything still refundable, or chosen tickets, with a reason (``order_refund``). Refusals
        (nothing paid by card, a ticket already void, more than is left) come back as messages."""
        order = self.get_object(request, unquote(object_id))
        if order is None:  # not one of the user's organizers' orders: as if it did not exist
            raise Http404("No such order")
        change_url = reverse("admin:orders_order_change", args=[order.pk])
        form = RefundForm(request.POST or None, order=order)
        if request.method == "POST" and form.is_valid():
            try:
                refund = order_refund(
                    order=order,
                    actor=_actor(request),
                    tickets=form.chosen_tickets(),
                    reason=form.cleaned_data["reason"],
                    source=Refund.Source.STAFF,
                )
            except ApplicationError as error:
                messages.error(request, error.message)
            else:
                voided = refund.tickets.count()
                tickets = f"{voided} ticket{'s' if voided != 1 else ''}"
                messages.success(
                    request,
                    f"Refunded {refund.amount} {refund.currency} for {tickets} of order {order.code}; their"
                    " seats are back on sale. Stripe returns the money to the buyer's card.",
                )
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Refund order {order.code}",
            "order": order,
            "form": form,
            "refundable": order_refundable_amount(order=order),
            "refundable_status": order.status in REFUNDABLE,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/orders/order/refund.html", context)


@admin.register(Refund)
class RefundAdmin(OrdersDoorsMixin, ModelAdmin):
    """Every refund, read-only: what went back to whom, why, and what Stripe said."""

    list_display = ("created", "order_link", "amount_money", "status", "source", "reason", "actor")
    list_select_related = ("order", "actor")
    list_filter = ("status", "source")
    search_fields = ("order__code", "order__email", "stripe_refund_id", "reason")
    ordering = ("-created", "-id")
    readonly_fields = (
        "order",
        "payment",
        "status",
        "source",
        "amount",
        "currency",
        "reason",
        "tickets",
        "actor",
        "idempotency_key",
        "stripe_refund_id",
        "failure_reason",
        "created",
        "modified",
    )
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Refund]:
        queryset = super().get_queryset(request)
        if permissions.user_acts_for_all_organizers(user=request.user):
            return queryset
        return queryset.filter(
            order__event__organizer_id__in=permissions.organizer_ids_for_user(user=request.user)
        )

    @display(description="Order", ordering="order__code")
    def order_link(self, obj: Refund) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[obj.order_id]), obj.order.code
        )

    @display(description="Amount", ordering="amount")
    def amount_money(self, obj: Refund) -> str:
        return f"{obj.amount} {obj.currency}"


# --- events: refund every paid order of a cancelled event -------------------------------------------------


admin.site.unregister(Event)


@admin.register(Event)
class EventAdmin(CatalogueEventAdmin):
    """The catalogue's event admin, plus refunding all paid orders of a cancelled event (a Celery job) and
    its progress on the event's page."""

    actions = ["refund_all_paid_orders"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*super().get_readonly_fields(request, obj), "refund_job"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and (
            obj.status == Event.Status.CANCELLED or event_refund_job_get(event_id=obj.pk)
        ):
            fieldsets.insert(1, ("Refunds", {"fields": ("refund_job",)}))
        return fieldsets

    def get_urls(self) -> list[Any]:
        progress = path(
            "<path:object_id>/refund-progress/",
            self.admin_site.admin_view(self.refund_progress_view),
            name="events_event_refund_progress",
        )
        return [progress, *super().get_urls()]

    @display(description="Refund of paid orders")
    def refund_job(self, obj: Event) -> str:
        return self._refund_job_html(obj)

    def _refund_job_html(self, obj: Event) -> str:
        """The job's progress; while it runs, htmx (shipped with unfold) asks again every 2 seconds."""
        job = event_refund_job_get(event_id=obj.pk) if obj.pk else None
        if job is None:
            text = "Not started. Use the action “Refund all paid orders” in the event list."
            return format_html('<div id="refund-job" role="status">{}</div>', text)
        if job.get("finished"):
            text = f"Done: {job['done']} of {job['total']} paid orders processed."
            return format_html('<div id="refund-job" role="status">{}</div>', text)
        total = job["total"] or "?"
        text = f"Refunding: {job['done']} of {total} paid orders processed…"
        url = reverse("admin:events_event_refund_progress", args=[obj.pk])
        return format_html(
            '<div id="refund-job" role="status" hx-get="{}" hx-trigger="every 2s" hx-swap="outerHTML">'
            "{}</div>",
            url,
            text,
        )

    def refund_progress_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The progress panel alone (polled by the event's page)."""
        event = self.get_object(request, unquote(object_id))
        if event is None or not self.has_view_permission(request, event):
            raise Http404("No such event")
        return HttpResponse(self._refund_job_html(event))

    @admin.action(description="Refund all paid orders (cancelled events)", permissions=["refund_all"])
    def refund_all_paid_orders(self, request: HttpRequest, queryset: QuerySet[Event]) -> HttpResponse | None:
        """After a confirmation page: refund every paid order of each selected cancelled event in the
        background; events that are not cancelled, or not the user's to change, are skipped."""
        events = list(queryset.annotate(paid_orders=Count("orders", filter=Q(orders__status__in=REFUNDABLE))))
        allowed = [e for e in events if permissions.user_can_edit_event(user=request.user, event=e)]
        cancelled = [e for e in allowed if e.status == Event.Status.CANCELLED]
        skipped = [e for e in events if e not in cancelled]
        if request.POST.get("post") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Refund all paid orders?",
                "events": cancelled,
                "skipped": skipped,
                "selected": [e.pk for e in events],
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/events/event/refund_all_confirm.html", context)
        for event in cancelled:
            try:
                event_refund_all_start(event=event, actor=_actor(request))
            except ApplicationError as error:
                messages.error(request, f"{event.title}: {error.message}")
            else:
                messages.success(
                    request,
                    f"{event.title}: refunding its paid orders in the background; the event's page shows how"
                    " far it got.",
                )
        for event in skipped:
            messages.warning(
                request, f"{event.title}: skipped (only cancelled events of yours are refunded)."
            )
        return None

    def has_refund_all_permission(self, request: HttpRequest) -> bool:
        return permissions.user_is_organizer_staff(user=request.user, roles=permissions.EDIT_ROLES)
