"""The staff admin for loyalty points (django-unfold): accounts with their ledgers, and every ledger row,
read-only (points move only through ``loyalty.services``); on an account, "Adjust points" adds or takes
away points with a reason (``points_adjust``), which the user sees in their history. Referrals, read-only:
who invited whom, the status, the reward each side got (or why it was refused or taken back) and the
ledger rows behind it. No action changes a referral here: rewards are decided by
``loyalty.services_referrals`` alone (its abuse rules included); a point correction is an "Adjust points"
on the account, with a reason.

Points and referrals are platform-wide, not an organizer's: only superusers see these pages.
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
from events.templatetags.catalogue import money
from grasshopper.lib.exceptions import ApplicationError
from loyalty import tiers
from loyalty.models import LedgerEntry, LoyaltyAccount, Referral
from loyalty.selectors_referrals import referral_list_for_staff
from loyalty.services import points_adjust

K = LedgerEntry.Kind
R = Referral.Status
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
            # Points formatted first: format_html escapes its arguments into strings ("{:+d}" would fail).
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{e.created:%Y-%m-%d %H:%M}",
                    f"{e.points:+d}",
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


STATUS_LABELS = {
    R.SIGNED_UP.label: "info",
    R.REWARDED.label: "success",
    R.REVERSED.label: "warning",
    R.REJECTED.label: "danger",
}


@admin.register(Referral)
class ReferralAdmin(SuperuserOnlyReadOnly, ModelAdmin):
    """Referrals, read-only, with their reward state (annotated by ``referral_list_for_staff``: the list
    costs the same few queries whatever its length)."""

    list_display = (
        "created",
        "referrer",
        "code",
        "referee",
        "status_label",
        "reward",
        "first_order",
        "rewarded_at",
        "reason",
    )
    list_filter = ("status",)
    empty_value_display = "—"  # what the computed columns say for nothing, so empty cells all look alike
    search_fields = ("referrer__email", "referee__email", "referrer__loyalty__referral_code", "order_code")
    search_help_text = "Referrer's or referee's email, the referrer's code, or the first order's code."
    date_hierarchy = "created"
    ordering = ("-created", "-id")
    fields = (
        "referrer",
        "code",
        "referee",
        "status",
        "reason",
        "first_order",
        "reward",
        "created",
        "rewarded_at",
        "ledger",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> Any:
        return referral_list_for_staff()

    @display(description="Code", ordering="referrer__loyalty__referral_code")
    def code(self, obj: Referral) -> str:
        account = getattr(obj.referrer, "loyalty", None)
        return account.referral_code if account is not None else "—"

    @display(description="Status", ordering="status", label=STATUS_LABELS)
    def status_label(self, obj: Referral) -> str:
        return obj.get_status_display()

    @display(description="Reward")
    def reward(self, obj: Referral) -> str:
        """What each side got: points (from the ledger), the referee's welcome discount, and whether the
        points were taken back."""
        row: Any = obj  # annotated by referral_list_for_staff
        parts = []
        if row.referrer_points:
            parts.append(f"referrer +{row.referrer_points} points")
        if row.referee_points:
            parts.append(f"referee +{row.referee_points} points")
        if row.discount_amount is not None:
            parts.append(f"referee {money(row.discount_amount, row.discount_currency)} off")
        if not parts:
            return "—"
        text = ", ".join(parts)
        return f"{text} (points taken back)" if row.reward_taken_back else text

    @display(description="First order", ordering="order_code")
    def first_order(self, obj: Referral) -> str:
        order_id = getattr(obj, "order_id", None)  # annotated by referral_list_for_staff
        if not obj.order_code:
            return "—"
        if order_id is None:
            return obj.order_code
        url = reverse("admin:orders_order_change", args=[order_id])
        return format_html('<a href="{}" class="text-primary-600">{}</a>', url, obj.order_code)

    @display(description="Ledger rows")
    def ledger(self, obj: Referral) -> str:
        """The rows the reward moved (given, taken back) for both sides, and a link to them in the ledger."""
        entries = (
            LedgerEntry.objects.filter(source=f"referral:{obj.pk}")
            .select_related("user")
            .order_by("created", "id")
        )
        # Unfold's utility classes (in its compiled stylesheet): padded, left-aligned cells, one rule per row.
        cell = "px-3 py-2 text-left align-top border-b border-base-200"
        rows = format_html_join(
            "",
            f'<tr><td class="{cell} whitespace-nowrap">{{}}</td><td class="{cell}">{{}}</td>'
            f'<td class="{cell} text-right whitespace-nowrap">{{}}</td><td class="{cell}">{{}}</td>'
            f'<td class="{cell}">{{}}</td></tr>',
            (
                (
                    f"{e.created:%Y-%m-%d %H:%M}",
                    e.user.email,
                    f"{e.points:+d}",
                    e.get_kind_display(),
                    e.description,
                )
                for e in entries
            ),
        )
        if not rows:
            return "No points moved for this referral."
        everything = reverse("admin:loyalty_ledgerentry_changelist") + f"?source__exact=referral:{obj.pk}"
        head = f"{cell} font-semibold whitespace-nowrap"
        return format_html(
            '<table class="w-full"><thead><tr><th scope="col" class="{}">When</th>'
            '<th scope="col" class="{}">User</th><th scope="col" class="{} text-right">Points</th>'
            '<th scope="col" class="{}">Kind</th><th scope="col" class="{}">Description</th></tr></thead>'
            "<tbody>{}</tbody></table>"
            '<p class="mt-2"><a href="{}" class="text-primary-600">In the ledger</a></p>',
            head,
            head,
            head,
            head,
            head,
            rows,
            everything,
        )
