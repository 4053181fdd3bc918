"""`manage.py seed_demo`: the demo catalogue and its sales, at any size (the benchmark seeds 10,000 events).

It lives in grasshopper.demo, not in events, since 2026-06: the sales are real paid orders (orders.demo)
and only the composition root may seed both layers. `--no-sales` seeds the catalogue alone, every ticket
type unsold.
"""

from argparse import ArgumentParser, BooleanOptionalAction
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from events.demo import DEFAULT_ARTISTS, DEFAULT_EVENTS, DEFAULT_SEED
from events.models import Artist, Event, Genre, Lineup, Organizer, TicketType, Venue
from grasshopper.demo.services import demo_seed
from orders.models import Order, OrderEvent, OrderLine, Ticket

SEEDED_TABLES = [
    model._meta.db_table
    for model in (
        Organizer,
        Venue,
        Genre,
        Artist,
        Event,
        Lineup,
        TicketType,
        Order,
        OrderLine,
        OrderEvent,
        Ticket,
    )
] + [Event.genres.through._meta.db_table, Artist.genres.through._meta.db_table]


class Command(BaseCommand):
    help = (
        "Seed a deterministic demo catalogue (organizers, venues in 8 cities, genres, artists, events "
        "with lineups and ticket types) and its sales as paid orders of demo buyers (sold-out, nearly "
        "sold-out and ordinary demand; inventory_audit finds no drift). Idempotent: rows are keyed by "
        "slug; only missing ones are inserted, and only they get sales."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--events", type=int, default=DEFAULT_EVENTS, help="events to plan (default %(default)s)"
        )
        parser.add_argument(
            "--artists", type=int, default=DEFAULT_ARTISTS, help="artists to plan (default %(default)s)"
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help="random seed: same seed, same data (default %(default)s)",
        )
        parser.add_argument(
            "--sales",
            action=BooleanOptionalAction,
            default=True,
            help="make the planned sales as paid orders (default); --no-sales leaves every ticket unsold",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="seed although DJANGO_DEBUG is off (a staging or benchmark database, never production)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "Demo data is for development (DJANGO_DEBUG is off); "
                "pass --force for a staging or benchmark database."
            )
        events, artists = options["events"], options["artists"]
        if events < 0 or artists < 0:
            raise CommandError("--events and --artists cannot be negative.")
        if events and not artists:
            raise CommandError("Events need artists: pass --artists 1 or more.")
        seeded = demo_seed(
            events=events,
            artists=artists,
            seed=options["seed"],
            sales=options["sales"],
            progress=self.stdout.write,
        )
        result, sales = seeded.catalogue, seeded.sales
        if seeded.created_anything and connection.vendor == "postgresql":
            # Fresh statistics, so the planner knows the tables are no longer empty (autovacuum would get
            # there, a minute or so later; until then searches and lists can take seq-scan plans).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE " + ", ".join(SEEDED_TABLES))
        if not seeded.created_anything:
            self.stdout.write(
                self.style.SUCCESS(f"Demo catalogue already seeded: nothing to add ({result.seconds} s).")
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded in {result.seconds + sales.seconds:.2f} s: {result.events} events, "
                f"{result.artists} artists, {result.venues} venues, {result.organizers} organizers, "
                f"{result.genres} genres, {result.lineups} lineup slots, {result.ticket_types} ticket types, "
                f"{sales.orders} paid orders with {sales.tickets} tickets."
            )
        )
