from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from grasshopper.demo.services import demo_setup


class Command(BaseCommand):
    help = "Load the demo data and create the demo staff user (once), then print the admin login."

    def handle(self, *args: object, **options: object) -> None:
        if not settings.DEBUG:
            raise CommandError("Demo data is for local development only (DJANGO_DEBUG is off).")
        result = demo_setup()
        state = "created" if result.created else "already there"
        self.stdout.write(self.style.SUCCESS(f"Demo data {state}."))
        self.stdout.write(
            "\n  Admin:    http://127.0.0.1:8000/admin/\n"
            f"  Email:    {result.staff_email}\n"
            f"  Password: {result.staff_password}\n"
        )
