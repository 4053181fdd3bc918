from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = "Loyalty"

    def ready(self) -> None:
        # --- points: earn / reverse / give back on the orders app's facts ---
        from loyalty import receivers

        receivers.connect()
        # --- end points ---

        # --- membership (Grasshopper Plus): Stripe receivers and the section of /account/loyalty/ ---
        from loyalty import webhooks  # noqa: F401  (connects the djstripe receivers)
        from loyalty.sections import account_section_register
        from loyalty.selectors_membership import membership_section_context

        account_section_register(
            name="membership",
            template="loyalty/_membership.html",
            context=membership_section_context,
            order=30,
        )
        # --- end membership ---

        # --- referrals: sign-up linking, rewards, reversal; the section of /account/loyalty/ ---
        from loyalty import receivers_referrals, tasks_referrals  # noqa: F401  (tasks: registers the beat job)
        from loyalty.sections import account_section_register as register_section
        from loyalty.selectors_referrals import referral_section_context

        receivers_referrals.connect()
        register_section(
            name="referrals", template="loyalty/_referrals.html", context=referral_section_context, order=20
        )
        # --- end referrals ---
