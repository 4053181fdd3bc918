from django.apps import AppConfig


class WaitlistConfig(AppConfig):
    name = "waitlist"
    verbose_name = "Waitlist"

    def ready(self) -> None:
        # Freed seats become offers inside the releasing transaction; offers follow their orders.
        from waitlist import receivers

        receivers.connect()
