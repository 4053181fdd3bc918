"""notifications.kinds: event times as buyers read them, in the event's zone and the active language."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import translation

from events.models import Event
from notifications import kinds

START = datetime(2026, 7, 11, 19, 0, tzinfo=UTC)


def test_event_times_are_in_the_events_zone_and_the_active_language_each_time() -> None:
    lisbon = Event(timezone="Europe/Lisbon", starts_at=START)
    new_york = Event(timezone="America/New_York", starts_at=START)  # the same instant, another zone

    with translation.override("en"):
        english = [
            kinds.when(lisbon),
            kinds.short_when(lisbon),
            kinds.when(new_york),
            kinds.clock(lisbon, START),
        ]
    with translation.override("pt"):
        portuguese = kinds.when(lisbon)
    with translation.override("en"):
        english_again = kinds.when(lisbon)

    assert english == [
        "Saturday 11 July 2026, 20:00",
        "Sat 11 Jul, 20:00",
        "Saturday 11 July 2026, 15:00",
        "20:00",
    ]
    assert portuguese.lower() == "sábado 11 julho 2026, 20:00"
    assert english_again == english[0]
