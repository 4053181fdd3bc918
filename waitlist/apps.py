from django.apps import AppConfig


class WaitlistConfig(AppConfig):
    name = "waitlist"
    verbose_name = "Waitlist"

    def ready(self) -> None:
        # Freed seats become offers inside the releasing transaction; offers follow their orders.
        from orders.holds import hold_limit_register
        from waitlist import receivers
        from waitlist.selectors import offer_hold_limit

        receivers.connect()
        # A waitlist offer's order is never held past the offer (the checkout's "extend once").
        hold_limit_register(key="waitlist.offer", rule=offer_hold_limit)
