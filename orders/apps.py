from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # checks: the Stripe configuration checks; webhooks: the dj-stripe receivers (connected on import).
        from orders import checks, receivers, webhooks  # noqa: F401

        # Open Stripe sessions / intents are closed when an order stops waiting for money.
        receivers.connect()

        # STRIPE_OFFLINE (with DEBUG only): every Stripe call goes to this process's in-memory fake.
        from orders import gateway

        gateway.install_offline_transport()
