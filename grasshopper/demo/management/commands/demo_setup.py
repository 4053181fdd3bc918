from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from grasshopper.demo.services import demo_setup
from orders.services_stripe import stripe_webhook_endpoint_ensure


class Command(BaseCommand):
    help = (
        "Load the demo data (a catalogue of events) and create the demo staff and organizer users (once), "
        "then print their logins."
    )

    def handle(self, *args: object, **options: object) -> None:
        if not settings.DEBUG:
            raise CommandError("Demo data is for local development only (DJANGO_DEBUG is off).")
        result = demo_setup()
        # Offline Stripe: the local checkout page delivers signed webhooks to this endpoint.
        stripe_endpoint = stripe_webhook_endpoint_ensure().endpoint if settings.STRIPE_OFFLINE else None
        state = "created" if result.created else "already there"
        catalogue = result.catalogue
        self.stdout.write(self.style.SUCCESS(f"Demo data {state}."))
        if catalogue.created_anything:
            self.stdout.write(
                f"  Catalogue: {catalogue.events} events, {catalogue.artists} artists, "
                f"{catalogue.venues} venues in {catalogue.seconds} s"
            )
        if result.sales.orders:
            self.stdout.write(
                f"  Sales:     {result.sales.orders} paid orders of demo buyers, {result.sales.tickets} "
                f"tickets in {result.sales.seconds} s"
            )
        self.stdout.write(
            f"\n  Site:       {settings.SITE_URL}/\n"
            f"  Admin:      {settings.SITE_URL}/admin/\n"
            f"  Staff:      {result.staff_email} / {result.staff_password} (superuser)\n"
            f"  Organizer:  {result.organizer_email} / {result.staff_password} "
            f"(manager of {result.organizer_name})\n"
        )
        if stripe_endpoint is not None:
            self.stdout.write(
                "  Payments:   Stripe offline (no network): paid orders go through a local checkout page;\n"
                f"              webhooks to {stripe_endpoint.url}\n"
            )
