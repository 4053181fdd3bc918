"""Factories for the catalogue (factory_boy). Other engineers append theirs below; keep these stable."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.tests.factories import VerifiedUserFactory
from events.models import Artist, Event, Genre, Lineup, Organizer, OrganizerMember, TicketType, Venue


class OrganizerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organizer

    name = factory.Sequence(lambda n: f"Promoter {n}")
    slug = factory.Sequence(lambda n: f"promoter-{n}")


class OrganizerMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrganizerMember

    organizer = factory.SubFactory(OrganizerFactory)
    user = factory.SubFactory(VerifiedUserFactory, is_staff=True)
    role = OrganizerMember.Role.MANAGER


class GenreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Genre
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Genre {n}")
    slug = factory.Sequence(lambda n: f"genre-{n}")


class VenueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Venue

    name = factory.Sequence(lambda n: f"Hall {n}")
    slug = factory.Sequence(lambda n: f"hall-{n}")
    address = factory.Sequence(lambda n: f"{n} Rua Augusta")
    city = "Lisbon"
    country = "PT"
    latitude = Decimal("38.710000")
    longitude = Decimal("-9.140000")
    capacity = 800


class ArtistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Artist

    name = factory.Sequence(lambda n: f"The Band {n}")
    slug = factory.Sequence(lambda n: f"the-band-{n}")
    bio = "A band that plays loud."


class EventFactory(factory.django.DjangoModelFactory):
    """A published event two weeks from now at 20:00 UTC, doors an hour before."""

    class Meta:
        model = Event

    organizer = factory.SubFactory(OrganizerFactory)
    venue = factory.SubFactory(VenueFactory)
    title = factory.Sequence(lambda n: f"Night {n}")
    slug = factory.Sequence(lambda n: f"night-{n}")
    description = "An evening of live music."
    starts_at = factory.LazyFunction(
        lambda: (timezone.now() + timedelta(days=14)).replace(hour=20, minute=0, second=0, microsecond=0)
    )
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=3))
    doors_at = factory.LazyAttribute(lambda o: o.starts_at - timedelta(hours=1))
    timezone = "Europe/Lisbon"
    status = Event.Status.PUBLISHED


class LineupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lineup

    event = factory.SubFactory(EventFactory)
    artist = factory.SubFactory(ArtistFactory)
    position = factory.Sequence(lambda n: n + 1)
    is_headliner = False


class TicketTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketType

    event = factory.SubFactory(EventFactory)
    name = "General admission"
    price = Decimal("25.00")
    fee = Decimal("2.50")
    currency = "EUR"
    capacity = 100
    max_per_order = 6
