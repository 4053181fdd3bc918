from typing import Any

from allauth.account.decorators import secure_admin_login
from allauth.account.models import EmailAddress
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from unfold.admin import ModelAdmin, TabularInline

from accounts.forms import UserAdminChangeForm, UserCreationForm
from accounts.models import User
from accounts.selectors import user_list_for_admin
from accounts.services import user_create

# The admin has no sign-in form of its own: staff sign in through allauth's login page, so the admin gets
# the same failed-login limits (429), security logging and email verification as everyone else.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]


class EmailAddressInline(TabularInline):
    """allauth's record of the user's addresses: whether the address is verified, which one is primary."""

    model = EmailAddress
    fields = ("email", "primary", "verified")
    readonly_fields = ("email", "primary")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin, ModelAdmin):
    """Users are identified by their email address; there is no username."""

    form = UserAdminChangeForm
    add_form = UserCreationForm
    inlines = [EmailAddressInline]
    list_display = (
        "email",
        "full_name",
        "email_verified",
        "is_active",
        "is_staff",
        "date_joined",
        "last_login",
    )
    list_filter = ("is_staff", "is_superuser", "is_active", "date_joined", "groups")
    # unfold styles plain multi-selects; Django's two-box widget overflows its layout.
    filter_horizontal = ()
    search_fields = ("email", "full_name")
    ordering = ("-date_joined",)
    date_hierarchy = "date_joined"
    readonly_fields = ("email", "date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "usable_password", "password1", "password2"),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return user_list_for_admin()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # On "Add user" the address is typed in; afterwards it only changes through its owner's verified flow.
        return () if obj is None else self.readonly_fields

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        return self.inlines if obj is not None else []

    @admin.display(boolean=True, description="Email verified", ordering="has_verified_email")
    def email_verified(self, obj: User) -> bool:
        return bool(getattr(obj, "has_verified_email", False))

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # A new user is created by the service (normalised address, allauth's EmailAddress row); the admin
        # then carries on with `obj` (change message, redirect), which now stands for the saved row.
        usable = form.cleaned_data.get("set_usable_password", True)
        created = user_create(
            email=form.cleaned_data["email"],
            password=form.cleaned_data.get("password1") if usable else None,
            full_name=form.cleaned_data.get("full_name", ""),
        )
        obj.pk = created.pk
        obj.password = created.password
        obj.date_joined = created.date_joined
        obj._state.adding = False
        obj._state.db = created._state.db
