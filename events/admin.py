"""The staff admin for the catalogue (django-unfold, with django-simple-history's change history).

Who sees and changes what is decided by ``events.permissions`` only: every ``get_queryset``,
``has_*_permission`` and foreign-key choice below asks it. Django's model permissions (the "Organizer
staff" group, see ``events.services_admin``) open the doors; the organizer rule narrows them to the rows of
the user's own organizers. Superusers see everything.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin, StackedInline, TabularInline
from unfold.contrib.filters.admin import RangeDateFilter
from unfold.decorators import display
from unfold.forms import PaginationInlineFormSet

from accounts.models import User
from events import permissions
from events.models import Artist, Event, Genre, Lineup, Organizer, OrganizerMember, TicketType, Venue
from events.services import EVENT_CREATE_STATUSES, EVENT_STATUS_TRANSITIONS, event_changes_announce
from events.services_admin import organizer_staff_access_sync, ticket_type_save_details
from events.signals import holder_notices_progress_key
from grasshopper.lib.progress import progress_get

if TYPE_CHECKING:
    from django.db.models import Model
    from django.db.models.fields.related import ForeignKey
    from django.forms import ModelChoiceField

STATUS_LABELS = {
    Event.Status.DRAFT.label: "info",
    Event.Status.PUBLISHED.label: "success",
    Event.Status.CANCELLED.label: "danger",
    Event.Status.POSTPONED.label: "warning",
}


def _count_of(model: type[Model], fk: str) -> Coalesce:
    """A correlated ``COUNT`` of ``model`` rows pointing at the outer row: one query for the whole list."""
    rows = (
        model._default_manager.filter(**{fk: OuterRef("pk")})
        .order_by()
        .values(fk)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def _sum_of(model: type[Model], fk: str, field: str) -> Coalesce:
    rows = (
        model._default_manager.filter(**{fk: OuterRef("pk")})
        .order_by()
        .values(fk)
        .annotate(total=Sum(field))
        .values("total")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


class HistoryAdmin(SimpleHistoryAdmin, ModelAdmin):
    """unfold's admin with the simple-history change history ("History" on every change form).

    simple-history's history views find the object through the historical rows when ``get_queryset``
    does not hold it, and check permissions on that historical copy. Here a user who may not see the
    current object gets a 404 first, whatever its history says (superusers keep the deleted-object view).

    Reverting writes every field of the old version back, including those organizer staff may not
    change (organizer, featured flag) and a status the event may no longer return to: only superusers
    revert; organizer staff read the history.
    """

    # Django 6 will assume https for scheme-less addresses; organizers' sites are https anyway.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    # Slugs typed from the name as you go: `prepopulate` rather than Django's `prepopulated_fields`, which
    # simple-history's version view reads as is and which breaks any form without the slug (read-only).
    prepopulate: dict[str, tuple[str, ...]] = {}

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, tuple[str, ...]]:
        readonly = set(self.get_readonly_fields(request, obj))
        return {field: source for field, source in self.prepopulate.items() if field not in readonly}

    def _current_or_404(self, request: HttpRequest, object_id: str) -> None:
        if permissions.user_acts_for_all_organizers(user=request.user):
            return
        current = self.get_object(request, unquote(object_id))
        if current is None or not self.has_view_permission(request, current):
            raise Http404

    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        if not permissions.user_acts_for_all_organizers(user=request.user):
            return True
        return bool(super().revert_disabled(request, obj))

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        self._current_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        self._current_or_404(request, object_id)
        if request.method == "POST" and self.revert_disabled(request):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


# --- filters ----------------------------------------------------------------------------------------------


class WhenFilter(admin.SimpleListFilter):
    title = "when"
    parameter_name = "when"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("upcoming", "Upcoming"), ("past", "Past")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Event]) -> QuerySet[Event]:
        now = timezone.now()
        if self.value() == "upcoming":
            return queryset.filter(starts_at__gte=now)
        if self.value() == "past":
            return queryset.filter(starts_at__lt=now)
        return queryset


class CityFilter(admin.SimpleListFilter):
    """Cities of the events the user may see (Django's own filter would list every venue's city)."""

    title = "city"
    parameter_name = "city"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        cities = (
            model_admin.get_queryset(request)
            .order_by("venue__city")
            .values_list("venue__city", flat=True)
            .distinct()
        )
        return [(city, city) for city in cities]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Event]) -> QuerySet[Event]:
        return queryset.filter(venue__city=self.value()) if self.value() else queryset


class StartsBetweenFilter(RangeDateFilter):
    """unfold's date range, compared by calendar date (the "to" day is included)."""

    def queryset(self, request: HttpRequest, queryset: QuerySet[Event]) -> QuerySet[Event] | None:
        name = self.parameter_name
        bounds = {}
        for suffix, lookup in (("_from", "gte"), ("_to", "lte")):
            value = self.used_parameters.get(f"{name}{suffix}")
            if isinstance(value, str) and value:
                try:
                    bounds[f"{name}__date__{lookup}"] = datetime.strptime(value, "%Y-%m-%d").date()
                except ValueError:
                    return None
        return queryset.filter(**bounds)


# --- organizers -------------------------------------------------------------------------------------------


class OrganizerMemberInline(TabularInline):
    """Members make people staff: only superusers change them (events.permissions.user_can_manage_members)."""

    model = OrganizerMember
    fields = ("user", "role", "created")
    readonly_fields = ("created",)
    autocomplete_fields = ("user",)
    extra = 0
    tab = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrganizerMember]:
        return super().get_queryset(request).select_related("user")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (
            super().has_view_permission(request, obj)
            and obj is not None
            and permissions.user_can_view_members(user=request.user, organizer=obj)
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_add_permission(request, obj) and permissions.user_can_manage_members(
            user=request.user, organizer=obj
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and permissions.user_can_manage_members(
            user=request.user, organizer=obj
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and permissions.user_can_manage_members(
            user=request.user, organizer=obj
        )


class OwnOrganizerInitialMixin:
    """New venues and events start with the user's organizer when they edit for exactly one."""

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)  # type: ignore[misc]
        own = permissions.organizer_ids_for_user(user=request.user, roles=permissions.EDIT_ROLES)
        if len(own) == 1 and not permissions.user_acts_for_all_organizers(user=request.user):
            initial.setdefault("organizer", next(iter(own)))
        return initial


@admin.register(Organizer)
class OrganizerAdmin(HistoryAdmin):
    list_display = ("name", "slug", "email", "member_count", "event_count", "created")
    search_fields = ("name", "slug", "email")
    prepopulate = {"slug": ("name",)}
    readonly_fields = ("created", "modified")
    fields = ("name", "slug", "email", "website", "created", "modified")
    inlines = [OrganizerMemberInline]
    ordering = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organizer]:
        queryset = (
            super()
            .get_queryset(request)
            .annotate(
                member_total=_count_of(OrganizerMember, "organizer"),
                event_total=_count_of(Event, "organizer"),
            )
        )
        return permissions.organizers_for_user(user=request.user, queryset=queryset)

    @display(description="Members", ordering="member_total")
    def member_count(self, obj: Organizer) -> int:
        return obj.member_total  # type: ignore[attr-defined]

    @display(description="Events", ordering="event_total")
    def event_count(self, obj: Organizer) -> int:
        return obj.event_total  # type: ignore[attr-defined]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_view_permission(request, obj):
            return False
        if obj is None:
            return permissions.user_is_organizer_staff(user=request.user)
        return permissions.user_can_view_organizer(user=request.user, organizer=obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        if obj is None:
            return permissions.user_is_organizer_staff(user=request.user, roles=permissions.OWNER_ROLES)
        return permissions.user_can_edit_organizer(user=request.user, organizer=obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and permissions.user_acts_for_all_organizers(
            user=request.user
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and permissions.user_acts_for_all_organizers(
            user=request.user
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not OrganizerMember:
            super().save_formset(request, form, formset, change)
            return
        # Everyone whose membership this save touches (also the previous user of a re-assigned row) gets
        # admin access matching their memberships afterwards.
        touched = {f.initial["user"] for f in formset.initial_forms if f.initial.get("user")}
        super().save_formset(request, form, formset, change)
        touched |= {
            member.user_id for member in formset.new_objects + [o for o, _ in formset.changed_objects]
        }
        actor = request.user if isinstance(request.user, User) else None
        for user in User.objects.filter(pk__in=touched):
            organizer_staff_access_sync(user=user, actor=actor)


# --- venues -----------------------------------------------------------------------------------------------


@admin.register(Venue)
class VenueAdmin(OwnOrganizerInitialMixin, HistoryAdmin):
    list_display = ("name", "city", "country", "capacity", "owner", "event_count")
    list_select_related = ("organizer",)
    search_fields = ("name", "slug", "address", "postal_code", "city")
    prepopulate = {"slug": ("name",)}
    readonly_fields = ("created", "modified")
    fieldsets = (
        (None, {"fields": ("name", "slug", "organizer")}),
        ("Address", {"fields": ("address", "postal_code", "city", "country", "latitude", "longitude")}),
        ("About", {"fields": ("capacity", "accessibility_notes", "website")}),
        ("Record", {"fields": ("created", "modified"), "classes": ("collapse",)}),
    )
    ordering = ("name",)

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters: list[Any] = ["country", "city"]
        if permissions.user_acts_for_all_organizers(user=request.user):
            filters.append("organizer")
        return filters

    def get_queryset(self, request: HttpRequest) -> QuerySet[Venue]:
        queryset = super().get_queryset(request).annotate(event_total=_count_of(Event, "venue"))
        return permissions.venues_for_user(user=request.user, queryset=queryset)

    @display(description="Organizer", ordering="organizer__name")
    def owner(self, obj: Venue) -> str:
        return obj.organizer.name if obj.organizer else "Shared"

    @display(description="Events", ordering="event_total")
    def event_count(self, obj: Venue) -> int:
        return obj.event_total  # type: ignore[attr-defined]

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name == "organizer" and not permissions.user_acts_for_all_organizers(user=request.user):
            # Organizer staff create venues for their own organizers only; shared venues are ours.
            kwargs["queryset"] = permissions.organizers_for_user(
                user=request.user, roles=permissions.EDIT_ROLES
            )
            kwargs["required"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_view_permission(request, obj):
            return False
        if obj is None:
            return permissions.user_is_organizer_staff(user=request.user)
        return permissions.user_can_view_venue(user=request.user, venue=obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        if obj is None:
            return permissions.user_can_create_venues(user=request.user)
        return permissions.user_can_edit_venue(user=request.user, venue=obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and permissions.user_can_create_venues(user=request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and permissions.user_can_delete_venue(
            user=request.user, venue=obj
        )


# --- the shared catalogue: genres and artists -------------------------------------------------------------


class SharedCatalogueAdmin(HistoryAdmin):
    """Artists and genres belong to no organizer: staff with the model permission see them all; only
    superusers change or delete them."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and permissions.user_can_edit_shared_catalogue(
            user=request.user
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and permissions.user_can_edit_shared_catalogue(
            user=request.user
        )


@admin.register(Genre)
class GenreAdmin(SharedCatalogueAdmin):
    list_display = ("name", "slug", "artist_count", "event_count")
    search_fields = ("name", "slug")
    prepopulate = {"slug": ("name",)}
    ordering = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Genre]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                artist_total=_count_of(Artist.genres.through, "genre"),
                event_total=_count_of(Event.genres.through, "genre"),
            )
        )

    @display(description="Artists", ordering="artist_total")
    def artist_count(self, obj: Genre) -> int:
        return obj.artist_total  # type: ignore[attr-defined]

    @display(description="Events", ordering="event_total")
    def event_count(self, obj: Genre) -> int:
        return obj.event_total  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and permissions.user_can_edit_shared_catalogue(
            user=request.user
        )


@admin.register(Artist)
class ArtistAdmin(SharedCatalogueAdmin):
    list_display = ("name", "genre_names", "event_count", "modified")
    list_filter = ("genres",)
    search_fields = ("name", "slug")
    prepopulate = {"slug": ("name",)}
    autocomplete_fields = ("genres",)
    readonly_fields = ("created", "modified")
    fieldsets = (
        (None, {"fields": ("name", "slug", "genres", "bio", "image")}),
        ("Links", {"fields": ("website", "spotify_url", "instagram_url")}),
        ("Record", {"fields": ("created", "modified"), "classes": ("collapse",)}),
    )
    ordering = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Artist]:
        return (
            super()
            .get_queryset(request)
            .prefetch_related("genres")
            .annotate(event_total=_count_of(Lineup, "artist"))
        )

    @display(description="Genres")
    def genre_names(self, obj: Artist) -> str:
        return ", ".join(genre.name for genre in obj.genres.all())

    @display(description="Events", ordering="event_total")
    def event_count(self, obj: Artist) -> int:
        return obj.event_total  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Organizer staff add the artists of their lineups (the "+" next to the artist field).
        return super().has_add_permission(request) and permissions.user_can_add_artists(user=request.user)


# --- events, with their lineups and ticket types ----------------------------------------------------------


class EventPartInline:
    """Lineup rows and ticket types follow their event: whoever may change the event may change them."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) and (  # type: ignore[misc]
            permissions.user_can_view_event(user=request.user, event=obj)
            if obj is not None
            else permissions.user_is_organizer_staff(user=request.user)
        )

    def _may_edit(self, request: HttpRequest, obj: Any) -> bool:
        if obj is None:
            return permissions.user_can_create_events(user=request.user)
        return permissions.user_can_edit_event(user=request.user, event=obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_add_permission(request, obj) and self._may_edit(request, obj)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)  # type: ignore[misc]


class LineupInline(EventPartInline, TabularInline):
    model = Lineup
    verbose_name = "act"
    verbose_name_plural = "lineup"
    fields = ("position", "artist", "is_headliner", "set_time")
    autocomplete_fields = ("artist",)
    ordering = ("position", "id")
    extra = 0
    tab = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Lineup]:
        return super().get_queryset(request).select_related("artist")


class TicketTypeForm(forms.ModelForm):
    """No Meta: the inline builds it for TicketType with its own fieldsets."""

    def clean_capacity(self) -> int:
        capacity: int = self.cleaned_data["capacity"]
        taken = self.instance.sold + self.instance.held if self.instance.pk else 0
        if capacity is not None and capacity < taken:
            raise forms.ValidationError(
                f"{self.instance.sold} sold and {self.instance.held} held: capacity cannot be below {taken}."
            )
        return capacity


class TicketTypeFormSet(PaginationInlineFormSet):
    """Refuses to delete a ticket type somebody bought or holds; saves without touching the counters."""

    user: Any = None

    def clean(self) -> None:
        super().clean()
        kept = [f for f in self.forms if f.has_changed() or f.instance.pk]
        currencies = {
            f.cleaned_data.get("currency") for f in kept if f not in self.deleted_forms and f.cleaned_data
        }
        if len(currencies - {None}) > 1:
            raise forms.ValidationError("All ticket types of an event are sold in one currency.")
        for form in self.deleted_forms:
            ticket_type = form.instance
            if ticket_type.pk and not permissions.user_can_delete_ticket_type(
                user=self.user, ticket_type=ticket_type
            ):
                raise forms.ValidationError(
                    f"“{ticket_type.name}” has sold or held seats and cannot be deleted; hide it instead."
                )

    def save_new(self, form: Any, commit: bool = True) -> TicketType:
        setattr(form.instance, self.fk.name, self.instance)  # as Django's save_new: the saved event
        ticket_type = form.save(commit=False)
        if commit:
            ticket_type_save_details(ticket_type=ticket_type, actor=self.user)
        return ticket_type

    def save_existing(self, form: Any, obj: TicketType, commit: bool = True) -> TicketType:
        ticket_type = form.save(commit=False)
        if commit:
            ticket_type_save_details(ticket_type=ticket_type, actor=self.user)
        return ticket_type


class TicketTypeInline(EventPartInline, StackedInline):
    model = TicketType
    form = TicketTypeForm
    formset = TicketTypeFormSet
    fieldsets = (
        (None, {"fields": ("name", "description", "price", "fee", "currency")}),
        ("Seats", {"fields": (("capacity", "sold", "held", "withheld"), "max_per_order")}),
        ("Sales", {"fields": ("sales_start", "sales_end", "member_presale_start", "is_visible", "position")}),
    )
    # The live counters: shown, never editable (only the inventory services move them).
    readonly_fields = ("sold", "held", "withheld")
    ordering = ("position", "id")
    extra = 0
    tab = True

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.user = request.user
        return formset


class EventForm(forms.ModelForm):
    """The event's own rules, as the services apply them: the statuses it may move to from here, and a
    venue of its organizer or a shared one."""

    # No Meta: the admin builds the form for Event with its own fieldsets (modelform_factory).

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "status" in self.fields:
            current = self.instance.status if self.instance.pk else None
            allowed = EVENT_STATUS_TRANSITIONS.get(current, frozenset()) if current else EVENT_CREATE_STATUSES
            status = cast(forms.ChoiceField, self.fields["status"])
            status.choices = [
                (value, label)
                for value, label in Event.Status.choices
                if value == current or value in allowed
            ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        organizer = cleaned.get("organizer") if "organizer" in self.fields else self.instance.organizer
        venue = cleaned.get("venue")
        if (
            organizer
            and venue
            and not permissions.venue_allowed_for_organizer(venue=venue, organizer_id=organizer.pk)
        ):
            self.add_error(
                "venue", f"{venue} belongs to another organizer; pick {organizer}'s or a shared one."
            )
        return cleaned


@admin.register(Event)
class EventAdmin(OwnOrganizerInitialMixin, HistoryAdmin):
    form = EventForm
    list_display = ("title", "starts_at", "status_label", "organizer", "venue_name", "seats", "is_featured")
    list_select_related = ("organizer", "venue")
    search_fields = ("title", "slug", "venue__name", "venue__city", "organizer__name", "lineup__artist__name")
    list_filter_submit = True  # unfold's date range filter needs the "Apply filters" button
    prepopulate = {"slug": ("title",)}
    autocomplete_fields = ("genres",)
    readonly_fields = ("created", "modified", "holder_notices")
    fieldsets = (
        (None, {"fields": ("organizer", "title", "slug", "status", "is_featured", "holder_notices")}),
        (
            "When",
            {
                "fields": ("starts_at", "doors_at", "ends_at", "timezone"),
                "description": "Times are entered in UTC; buyers see them in the event's time zone.",
            },
        ),
        ("Where and what", {"fields": ("venue", "genres", "age_limit")}),
        ("Details", {"fields": ("description", "refund_policy", "image", "waitlist_lottery")}),
        ("Record", {"fields": ("created", "modified"), "classes": ("collapse",)}),
    )
    inlines = [LineupInline, TicketTypeInline]
    ordering = ("-starts_at", "id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Event]:
        queryset = (
            super()
            .get_queryset(request)
            .annotate(
                seats_sold=_sum_of(TicketType, "event", "sold"),
                seats_capacity=_sum_of(TicketType, "event", "capacity"),
            )
        )
        return permissions.events_for_user(user=request.user, queryset=queryset)

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters: list[Any] = [
            "status",
            WhenFilter,
            ("starts_at", StartsBetweenFilter),
            CityFilter,
            ("genres", admin.RelatedOnlyFieldListFilter),
            "is_featured",
        ]
        if permissions.user_acts_for_all_organizers(user=request.user):
            filters.append("organizer")
        return filters

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if not permissions.user_acts_for_all_organizers(user=request.user):
            readonly.append("is_featured")  # the home page's choice is Grasshopper's
            if obj is not None:
                # Links keep working and events stay with their organizer (as in events.services).
                readonly += ["organizer", "slug"]
        return readonly

    @display(description="Status", ordering="status", label=STATUS_LABELS)
    def status_label(self, obj: Event) -> str:
        return obj.get_status_display()

    @display(description="Emails to ticket holders")
    def holder_notices(self, obj: Event) -> str:
        """How far the emails about the last change or the cancellation got (sent by notifications)."""
        progress = progress_get(holder_notices_progress_key(event_id=obj.pk)) if obj.pk else None
        if progress is None:
            return "None sent."
        state = {"queued": "waiting to start", "running": "sending", "done": "done"}.get(
            progress["state"], progress["state"]
        )
        return f"{progress['done']} of {progress['total']} orders told ({state})."

    def save_model(self, request: HttpRequest, obj: Event, form: Any, change: bool) -> None:
        # Ticket holders hear about a new time or venue, or a cancellation (events.signals).
        before = Event.objects.select_related("venue").filter(pk=obj.pk).first() if change else None
        super().save_model(request, obj, form, change)
        if before is not None:
            event_changes_announce(before=before, event=obj)

    @display(description="Venue", ordering="venue__name")
    def venue_name(self, obj: Event) -> str:
        return str(obj.venue)

    @display(description="Sold / capacity")
    def seats(self, obj: Event) -> str:
        return f"{obj.seats_sold} / {obj.seats_capacity}"  # type: ignore[attr-defined]

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name == "organizer":
            kwargs["queryset"] = permissions.organizers_for_user(
                user=request.user, roles=permissions.EDIT_ROLES
            )
        elif db_field.name == "venue":
            kwargs["queryset"] = permissions.venues_usable_by_user(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_view_permission(request, obj):
            return False
        if obj is None:
            return permissions.user_is_organizer_staff(user=request.user)
        return permissions.user_can_view_event(user=request.user, event=obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        if obj is None:
            return permissions.user_can_create_events(user=request.user)
        return permissions.user_can_edit_event(user=request.user, event=obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and permissions.user_can_create_events(user=request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and permissions.user_can_delete_event(
            user=request.user, event=obj
        )
