"""The staff admin for loyalty points (django-unfold): accounts with their ledgers, and every ledger row,
read-only (points move only through ``loyalty.services``); on an account, "Adjust points" adds or takes
away points with a reason (``points_adjust``), which the user sees in their history.

Points are platform-wide, not an organizer's: only superusers see these pages.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminIntegerFieldWidget, UnfoldAdminTextInputWidget

from accounts.models import User
from grasshopper.lib.exceptions import ApplicationError
from loyalty import tiers
from loyalty.models import LedgerEntry, LoyaltyAccount
from loyalty.services import points_adjust

K = LedgerEntry.Kind
LEDGER_ROWS = 20
KIND_LABELS = {
    K.EARN.label: "success",
    K.REFERRAL.label: "success",
    K.REDEEM_RETURN.label: "info",
    K.REDEEM.label: "info",
    K.REVERSE.label: "warning",
    K.EXPIRE.label: "warning",
    K.ADJUST.label: "danger",
}


class SuperuserOnlyReadOnly:
    """Superusers look; nobody adds, changes or deletes through a form."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PointsAdjustForm(forms.Form):
    """Add (positive) or take away (negative) points, always with a reason the user sees."""

    points = forms.IntegerField(
        label="Points",
        min_value=-1_000_000,
        max_value=1_000_000,
        widget=UnfoldAdminIntegerFieldWidget,
        help_text="Positive adds points (they expire like earned ones); negative takes them away (at most "
        "the balance).",
    )
    reason = forms.CharField(
        label="Reason",
        max_length=200,
        widget=UnfoldAdminTextInputWidget,
        help_text="Shown to the user in their points history, and kept with the row.",
    )


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(SuperuserOnlyReadOnly, ModelAdmin):
    list_display = ("user", "balance", "tier_label", "referral_code", "modified")
    list_select_related = ("user",)
    search_fields = ("user__email", "referral_code")
    list_filter = ("tier",)
    ordering = ("-modified", "-id")
    readonly_fields = ("user", "balance", "tier", "referral_code", "modified", "ledger")
    actions_detail = ["adjust_points"]

    @display(description="Latest movements")
    def ledger(self, obj: LoyaltyAccount) -> str:
        """The last 20 ledger rows, and a link to all of them."""
        entries = LedgerEntry.objects.filter(user_id=obj.user_id).order_by("-created", "-id")[:LEDGER_ROWS]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{:+d}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{e.created:%Y-%m-%d %H:%M}",
                    e.points,
                    e.get_kind_display(),
                    e.source,
                    e.description,
                    e.remaining,
                )
                for e in entries
            ),
        )
        everything = reverse("admin:loyalty_ledgerentry_changelist") + f"?user__id__exact={obj.user_id}"
        return format_html(
            '<table class="w-full"><thead><tr><th>When</th><th>Points</th><th>Kind</th><th>Source</th>'
            "<th>Description</th><th>Unspent</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}" class="text-primary-600">The whole ledger</a></p>',
            rows,
            everything,
        )

    @display(description="Tier", ordering="tier", label=dict.fromkeys(tiers.LABELS.values(), "info"))
    def tier_label(self, obj: LoyaltyAccount) -> str:
        return tiers.LABELS.get(obj.tier, obj.tier)

    def has_adjust_permission(self, request: HttpRequest, object_id: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    @action(description="Adjust points", url_path="adjust", permissions=["adjust"])
    def adjust_points(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Add or take away points with a reason (``points_adjust``); refusals come back as messages."""
        account = self.get_object(request, unquote(object_id))
        if account is None:
            raise Http404("No such account")
        change_url = reverse("admin:loyalty_loyaltyaccount_change", args=[account.pk])
        form = PointsAdjustForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                entry = points_adjust(
                    user=account.user,
                    points=form.cleaned_data["points"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user if isinstance(request.user, User) else None,
                )
            except ApplicationError as error:
                messages.error(request, error.message)
            else:
                messages.success(
                    request,
                    f"{entry.points:+d} points for {account.user.email}: the balance is now "
                    f"{LoyaltyAccount.objects.get(pk=account.pk).balance}.",
                )
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Adjust points of {account.user.email}",
            "account": account,
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/loyalty/loyaltyaccount/adjust.html", context)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(SuperuserOnlyReadOnly, ModelAdmin):
    list_display = ("created", "user", "points", "kind_label", "source", "description", "actor")
    list_select_related = ("user", "actor")
    list_filter = ("kind",)
    search_fields = ("user__email", "source", "description")
    date_hierarchy = "created"
    ordering = ("-created", "-id")
    readonly_fields = (
        "user",
        "points",
        "kind",
        "source",
        "description",
        "remaining",
        "expires_at",
        "actor",
        "created",
    )

    @display(description="Kind", ordering="kind", label=KIND_LABELS)
    def kind_label(self, obj: LedgerEntry) -> str:
        return obj.get_kind_display()
