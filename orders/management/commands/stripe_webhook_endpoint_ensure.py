from django.core.management.base import BaseCommand, CommandError

from grasshopper.lib.exceptions import ApplicationError
from orders.services_stripe import stripe_webhook_endpoint_ensure


class Command(BaseCommand):
    help = (
        "Create or update dj-stripe's webhook endpoint row from STRIPE_WEBHOOK_ENDPOINT_ID, "
        "STRIPE_WEBHOOK_SECRET and STRIPE_WEBHOOK_UUID (run at every deploy; idempotent). In offline mode "
        "without them, a local endpoint with a generated secret is created once."
    )

    def handle(self, *args: object, **options: object) -> None:
        try:
            result = stripe_webhook_endpoint_ensure()
        except ApplicationError as error:
            raise CommandError(error.message) from error
        endpoint = result.endpoint
        state = "created" if result.created else ("updated" if result.changed else "unchanged")
        self.stdout.write(self.style.SUCCESS(f"Stripe webhook endpoint {endpoint.id} {state}."))
        self.stdout.write(f"  URL Stripe posts to: {endpoint.url}")
