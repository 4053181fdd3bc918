"""The inbox page's forms: mark read (one or all) and the marketing-email preference."""

from __future__ import annotations

from typing import Any

from django import forms


class MarkReadForm(forms.Form):
    """``id`` marks one notification read; ``all`` marks every unread one (exactly one of the two)."""

    id = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    all = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if bool(cleaned.get("all")) == (cleaned.get("id") is not None):
            raise forms.ValidationError("Choose one notification, or all of them.")
        return cleaned


class PreferenceForm(forms.Form):
    marketing_email = forms.BooleanField(
        label="Email me news and offers",
        required=False,
        help_text=(
            "Order confirmations, tickets, refunds and changes to your events are always sent: "
            "they are not marketing."
        ),
    )
