"""Demo data for a newcomer's `make run`: loaded once, never in production."""

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db import transaction

DEMO_STAFF_EMAIL = "admin@grasshopper.localhost"
# A published demo login (bandit B105 silenced): demo_setup refuses to run when DEBUG is off.
DEMO_STAFF_PASSWORD = "grasshopper-demo"  # noqa: S105 # nosec B105


@dataclass(frozen=True)
class DemoResult:
    staff_email: str
    staff_password: str
    created: bool


@transaction.atomic
def demo_setup() -> DemoResult:
    """Create the demo staff user (a verified superuser) and the demo data, once.

    The catalogue issue adds its events, artists and venues here; today there is only the staff login.
    """
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        email=DEMO_STAFF_EMAIL,
        defaults={"full_name": "Demo Admin", "is_staff": True, "is_superuser": True},
    )
    if created:
        user.set_password(DEMO_STAFF_PASSWORD)
        user.save(update_fields=["password"])
        EmailAddress.objects.create(user=user, email=DEMO_STAFF_EMAIL, verified=True, primary=True)
    return DemoResult(staff_email=DEMO_STAFF_EMAIL, staff_password=DEMO_STAFF_PASSWORD, created=created)
