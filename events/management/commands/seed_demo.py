from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from events.demo import DEFAULT_ARTISTS, DEFAULT_EVENTS, DEFAULT_SEED, demo_catalogue_seed
from events.models import Artist, Event, Genre, Lineup, Organizer, TicketType, Venue

CATALOGUE_TABLES = [
    model._meta.db_table for model in (Organizer, Venue, Genre, Artist, Event, Lineup, TicketType)
] + [Event.genres.through._meta.db_table, Artist.genres.through._meta.db_table]


class Command(BaseCommand):
    help = (
        "Seed a deterministic demo catalogue (organizers, venues in 8 cities, genres, artists, events "
        "with lineups and ticket types). Idempotent: rows are keyed by slug; only missing ones are inserted."
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
        result = demo_catalogue_seed(
            events=events, artists=artists, seed=options["seed"], progress=self.stdout.write
        )
        if result.created_anything and connection.vendor == "postgresql":
            # Fresh statistics, so the planner knows the tables are no longer empty (autovacuum would get
            # there, a minute or so later; until then searches and lists can take seq-scan plans).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE " + ", ".join(CATALOGUE_TABLES))
        if not result.created_anything:
            self.stdout.write(
                self.style.SUCCESS(f"Demo catalogue already seeded: nothing to add ({result.seconds} s).")
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded in {result.seconds} s: {result.events} events, {result.artists} artists, "
                f"{result.venues} venues, {result.organizers} organizers, {result.genres} genres, "
                f"{result.lineups} lineup slots, {result.ticket_types} ticket types."
            )
        )
