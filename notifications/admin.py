"""Staff views of what we told people: the email outbox (filter by status, resend failed emails), the
inbox entries and the broadcast jobs to an event's ticket holders (with their progress). All read-only:
messages are written by the services, never by hand."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from unfold.admin import ModelAdmin
from unfold.decorators import display

from grasshopper.lib.exceptions import ApplicationError
from notifications.models import Broadcast, Notification, OutboxEmail
from notifications.services import outbox_resend

STATUS_LABELS = {
    OutboxEmail.Status.QUEUED.label: "info",
    OutboxEmail.Status.SENDING.label: "warning",
    OutboxEmail.Status.SENT.label: "success",
    OutboxEmail.Status.FAILED.label: "danger",
}


class ReadOnlyAdmin(ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxEmail)
class OutboxEmailAdmin(ReadOnlyAdmin):
    list_display = ("created", "kind", "to", "status_label", "attempts", "sent_at", "error_summary")
    list_filter = ("status", "kind")
    search_fields = ("to", "reference", "subject")
    date_hierarchy = "created"
    ordering = ("-created", "-id")
    actions = ["resend"]
    readonly_fields = (
        "kind",
        "to",
        "user",
        "reference",
        "subject",
        "status",
        "attempts",
        "last_error",
        "claimed_at",
        "sent_at",
        "context",
        "created",
        "modified",
    )
    fields = readonly_fields

    @display(description="Status", ordering="status", label=STATUS_LABELS)
    def status_label(self, obj: OutboxEmail) -> str:
        return obj.get_status_display()

    @display(description="Last error")
    def error_summary(self, obj: OutboxEmail) -> str:
        return obj.last_error[:80]

    @admin.action(description="Send the selected failed emails again", permissions=["resend"])
    def resend(self, request: HttpRequest, queryset: QuerySet[OutboxEmail]) -> None:
        """Each failed email goes back to the queue with a fresh set of attempts; others are skipped."""
        resent, skipped = 0, 0
        for outbox_id in queryset.values_list("pk", flat=True):
            try:
                outbox_resend(outbox_id=outbox_id, actor=request.user)  # type: ignore[arg-type]
            except ApplicationError:
                skipped += 1
            else:
                resent += 1
        if resent:
            self.message_user(request, f"{resent} email(s) queued to be sent again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} email(s) skipped: only failed emails can be sent again.",
                messages.WARNING,
            )

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.change_outboxemail")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created", "user", "kind", "title", "read_at")
    list_filter = ("kind",)
    list_select_related = ("user",)
    search_fields = ("user__email", "title", "reference")
    ordering = ("-created", "-id")
    readonly_fields = ("user", "kind", "reference", "title", "body", "link", "created", "read_at")
    fields = readonly_fields


@admin.register(Broadcast)
class BroadcastAdmin(ReadOnlyAdmin):
    list_display = ("created", "event", "kind", "status", "progress", "finished_at")
    list_filter = ("status", "kind")
    list_select_related = ("event",)
    search_fields = ("event__title", "reference")
    ordering = ("-created", "-id")
    readonly_fields = (
        "event",
        "kind",
        "reference",
        "status",
        "total",
        "done",
        "cursor",
        "context",
        "started_at",
        "finished_at",
        "created",
        "modified",
    )
    fields = readonly_fields

    @display(description="Orders told")
    def progress(self, obj: Broadcast) -> str:
        return f"{obj.done} / {obj.total}"
