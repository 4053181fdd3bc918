"""The waitlist's form: join (from the event page)."""

from __future__ import annotations

from django import forms

# Ids are 64-bit in the database; anything bigger is malformed.
MAX_BIGINT = 9_223_372_036_854_775_807


class JoinForm(forms.Form):
    """Which ticket type, how many (the service checks 1 to ``max_per_order``), and a guest's email."""

    ticket_type = forms.IntegerField(min_value=1, max_value=MAX_BIGINT, widget=forms.HiddenInput)
    quantity = forms.IntegerField(label="Number of tickets", min_value=1, max_value=32_767)
    email = forms.EmailField(label="Your email", required=False, max_length=254)
