"""Loyalty forms: "pay with points" on the checkout page (the staff's adjustment form is in loyalty.admin)."""

from __future__ import annotations

from django import forms


class RedeemPointsForm(forms.Form):
    """How many points to use on the order; "Remove points" (``remove``) takes them all off."""

    points = forms.IntegerField(label="Points to use", min_value=0, max_value=2_147_483_647, required=False)
    remove = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if not data.get("remove") and data.get("points") is None and "points" not in self.errors:
            self.add_error("points", "Enter how many points to use.")
        return data
