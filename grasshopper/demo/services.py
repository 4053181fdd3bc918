"""Demo data for a newcomer's `make run`: loaded once, never in production."""

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.models import User
from events.demo import ORGANIZERS, SeedResult, demo_catalogue_seed
from events.models import Organizer, OrganizerMember
from events.services_admin import organizer_member_grant_staff

DEMO_STAFF_EMAIL = "admin@grasshopper.localhost"
DEMO_ORGANIZER_EMAIL = "organizer@grasshopper.localhost"
# A published demo login (bandit B105 silenced): demo_setup refuses to run when DEBUG is off. The
# organizer demo user shares it.
DEMO_STAFF_PASSWORD = "grasshopper-demo"  # noqa: S105 # nosec B105


@dataclass(frozen=True)
class DemoResult:
    staff_email: str
    staff_password: str
    organizer_email: str
    organizer_name: str
    created: bool
    catalogue: SeedResult


def _verified_user(*, email: str, full_name: str, is_superuser: bool) -> tuple[User, bool]:
    user, created = get_user_model().objects.get_or_create(
        email=email,
        defaults={"full_name": full_name, "is_staff": True, "is_superuser": is_superuser},
    )
    if created:
        user.set_password(DEMO_STAFF_PASSWORD)
        user.save(update_fields=["password"])
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user, created


@transaction.atomic
def demo_setup() -> DemoResult:
    """Create, once, the demo staff user (a verified superuser), the demo catalogue (default sizes) and an
    organizer login: a verified staff user who manages the first demo organizer's events in the admin.

    Every part is idempotent, so a second run creates nothing (the catalogue is keyed by slug).
    """
    staff, staff_created = _verified_user(email=DEMO_STAFF_EMAIL, full_name="Demo Admin", is_superuser=True)
    catalogue = demo_catalogue_seed()

    organizer = Organizer.objects.get(slug=ORGANIZERS[0].slug)
    member_user, member_created = _verified_user(
        email=DEMO_ORGANIZER_EMAIL, full_name="Demo Organizer", is_superuser=False
    )
    member, membership_created = OrganizerMember.objects.get_or_create(
        organizer=organizer, user=member_user, defaults={"role": OrganizerMember.Role.MANAGER}
    )
    if membership_created:
        # is_staff and the "Organizer staff" group (the admin's model permissions).
        organizer_member_grant_staff(member=member, actor=staff)
    return DemoResult(
        staff_email=DEMO_STAFF_EMAIL,
        staff_password=DEMO_STAFF_PASSWORD,
        organizer_email=DEMO_ORGANIZER_EMAIL,
        organizer_name=organizer.name,
        created=staff_created or member_created or catalogue.created_anything,
        catalogue=catalogue,
    )
