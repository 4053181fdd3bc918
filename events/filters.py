"""The event list's filters, one FilterSet for the HTML page and the API (same query parameters).

``/events/?q=jazz&date=weekend&city=Lisbon&genre=jazz&price=free&available=true&sort=price`` and
``/api/v1/events/?...`` mean the same thing. Invalid values are errors of the FilterSet's form: the API
answers 400 with field errors, the page ignores them and says so.
"""

from datetime import datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from events.models import Event, Genre

MAX_QUERY_LENGTH = 200


class DatePreset:
    TODAY = "today"
    WEEKEND = "weekend"
    MONTH = "month"
    CHOICES = ((TODAY, "Today"), (WEEKEND, "This weekend"), (MONTH, "This month"))


class Sort:
    SOONEST = "soonest"
    NEWEST = "newest"
    PRICE = "price"
    RELEVANCE = "relevance"
    CHOICES = ((SOONEST, "Soonest"), (NEWEST, "Newest"), (PRICE, "Lowest price"), (RELEVANCE, "Best match"))


def date_preset_range(preset: str, *, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of a date preset, in UTC days: today, the coming (or current) Friday-to-Sunday, the
    rest of this calendar month."""
    today = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    if preset == DatePreset.TODAY:
        return now, today + timedelta(days=1)
    if preset == DatePreset.WEEKEND:
        weekday = today.weekday()  # Monday 0 ... Sunday 6
        friday = today + timedelta(days=(4 - weekday) if weekday <= 4 else -(weekday - 4))
        return max(now, friday), friday + timedelta(days=3)
    first_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return now, first_next


class StrictNullBooleanField(forms.NullBooleanField):
    """Like Django's, but an unknown value (``available=maybe``) is an error rather than "no filter"."""

    TRUE = ("true", "1", "yes", "on", "True")
    FALSE = ("false", "0", "no", "off", "False")

    def to_python(self, value: Any) -> bool | None:  # type: ignore[override]  # null is the point
        if value in (None, "", True, False):
            return value if value != "" else None
        if value in self.TRUE:
            return True
        if value in self.FALSE:
            return False
        raise forms.ValidationError("Use true or false.", code="invalid_choice")

    def validate(self, value: Any) -> None:
        return None


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictNullBooleanField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The default select widget turns unknown values into None before the field can refuse them.
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class EventFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", max_length=MAX_QUERY_LENGTH, label="Search")
    date = django_filters.ChoiceFilter(choices=DatePreset.CHOICES, method="filter_date", label="When")
    date_from = django_filters.DateFilter(field_name="starts_at", lookup_expr="date__gte", label="From")
    date_to = django_filters.DateFilter(field_name="starts_at", lookup_expr="date__lte", label="To")
    city = django_filters.CharFilter(field_name="venue__city", lookup_expr="iexact", label="City")
    genre = django_filters.CharFilter(method="filter_genre", label="Genre")
    price = django_filters.ChoiceFilter(
        choices=(("free", "Free"), ("paid", "Paid")), method="filter_price", label="Price"
    )
    available = StrictBooleanFilter(method="filter_available", label="Only with tickets left")
    sort = django_filters.ChoiceFilter(choices=Sort.CHOICES, method="filter_sort", label="Sort by")

    class Meta:
        model = Event
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet[Event], name: str, value: str) -> QuerySet[Event]:
        from events.search import event_search

        return event_search(queryset, value)

    def filter_date(self, queryset: QuerySet[Event], name: str, value: str) -> QuerySet[Event]:
        start, end = date_preset_range(value, now=timezone.now())
        return queryset.filter(starts_at__gte=start, starts_at__lt=end)

    def filter_genre(self, queryset: QuerySet[Event], name: str, value: str) -> QuerySet[Event]:
        tagged = Genre.events.through.objects.filter(event_id=OuterRef("pk"), genre__slug=value)
        return queryset.filter(Exists(tagged))

    def filter_price(self, queryset: QuerySet[Event], name: str, value: str) -> QuerySet[Event]:
        # min_price is annotated by events.selectors.event_list_public.
        # (mypy cannot see annotations made elsewhere.)
        if value == "free":
            return queryset.filter(min_price=0)  # type: ignore[misc]
        return queryset.filter(min_price__gt=0)  # type: ignore[misc]

    def filter_available(self, queryset: QuerySet[Event], name: str, value: bool | None) -> QuerySet[Event]:
        if value is None:
            return queryset
        if value:
            return queryset.filter(tickets_left__gt=0)  # type: ignore[misc]
        return queryset.filter(tickets_left__lte=0)  # type: ignore[misc]

    def filter_sort(self, queryset: QuerySet[Event], name: str, value: str) -> QuerySet[Event]:
        # Applied in filter_queryset after every other filter, so the order is not lost to search ranking.
        return queryset

    def filter_queryset(self, queryset: QuerySet[Event]) -> QuerySet[Event]:
        queryset = super().filter_queryset(queryset)
        data: dict[str, Any] = self.form.cleaned_data
        sort = data.get("sort") or (Sort.RELEVANCE if data.get("q") else Sort.SOONEST)
        if sort == Sort.NEWEST:
            return queryset.order_by("-created", "-id")
        if sort == Sort.PRICE:
            return queryset.order_by(F("min_price").asc(nulls_last=True), "starts_at", "id")
        if sort == Sort.RELEVANCE and data.get("q"):
            return queryset  # event_search ordered by rank
        return queryset.order_by("starts_at", "id")
