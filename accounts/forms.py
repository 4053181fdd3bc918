"""Forms of the accounts app: the base of allauth's sign-up forms, and the admin's user forms.

``SignupForm`` is loaded by allauth while ``allauth.account.forms`` is being imported
(``ACCOUNT_SIGNUP_FORM_CLASS``), so this module must not import ``allauth.account.forms``.
"""

from typing import Any

from allauth.core import context
from django import forms
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from accounts.models import User
from accounts.ratelimits import enforce_signup_email_limit
from accounts.selectors import user_get_by_email, user_normalize_email


class SignupForm(forms.Form):
    """The base class of allauth's sign-up forms, the page's and the headless API's alike.

    Adds an optional full name (kept by ``AccountAdapter.save_user``) and counts sign-up attempts per
    address (``signup_email`` in ``ACCOUNT_RATE_LIMITS``), next to allauth's own per-IP ``signup`` limit.
    """

    full_name = forms.CharField(
        label="Full name (optional)",
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    field_order = ["email", "full_name", "password1", "password2"]

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean() or self.cleaned_data
        email = cleaned_data.get("email")
        if email and context.request is not None:
            enforce_signup_email_limit(context.request, email=email)
        return cleaned_data

    def signup(self, request: Any, user: User) -> None:
        """Required by allauth of a custom sign-up form; the full name is already saved by then."""


class UserCreationForm(AdminUserCreationForm):
    """The admin's "Add user": email, optional full name, password (or none, to be set by reset)."""

    class Meta:
        model = User
        fields = ("email", "full_name")
        field_classes: dict[str, type[forms.Field]] = {}

    def clean_email(self) -> str:
        email = user_normalize_email(email=self.cleaned_data["email"])
        if user_get_by_email(email=email) is not None:
            raise forms.ValidationError(
                "An account with this email address already exists.", code="email_already_registered"
            )
        return email


class UserAdminChangeForm(UserChangeForm):
    """The admin's user page: the email address is shown, not edited (its owner changes it, verified)."""

    class Meta:
        model = User
        fields = "__all__"
        field_classes: dict[str, type[forms.Field]] = {}
