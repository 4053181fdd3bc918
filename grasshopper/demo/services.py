"""Demo data for a newcomer's `make run` (and the catalogue benchmark): loaded once, never in production.

The composition root is the one place that may seed both layers: ``events.demo`` plans and inserts the
catalogue with every counter at zero and returns its planned sales; ``orders.demo`` turns those into paid
orders of a few demo buyers, moving ``sold`` through the inventory services. So ``inventory_audit`` reports
no drift on a demo database.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.models import User
from events.demo import (
    DEFAULT_ARTISTS,
    DEFAULT_EVENTS,
    DEFAULT_SEED,
    ORGANIZERS,
    SeedResult,
    demo_catalogue_seed,
)
from events.models import Organizer, OrganizerMember
from events.services_admin import organizer_member_grant_staff
from orders.demo import DemoSale, DemoSalesResult, orders_seed_paid

DEMO_STAFF_EMAIL = "admin@grasshopper.localhost"
DEMO_ORGANIZER_EMAIL = "organizer@grasshopper.localhost"
# A published demo login (bandit B105 silenced): demo_setup refuses to run when DEBUG is off. The
# organizer demo user shares it.
DEMO_STAFF_PASSWORD = "grasshopper-demo"  # noqa: S105 # nosec B105


# The demo's buyers: accounts nobody can sign in to (unusable passwords), owners of the seeded sales.
DEMO_BUYERS = [
    ("ines.ferreira@buyers.grasshopper.localhost", "Inês Ferreira"),
    ("soren.lindqvist@buyers.grasshopper.localhost", "Søren Lindqvist"),
    ("amara.okafor@buyers.grasshopper.localhost", "Amara Okafor"),
    ("noemie.moreau@buyers.grasshopper.localhost", "Noémie Moreau"),
    ("ruairi.brennan@buyers.grasshopper.localhost", "Ruairí Brennan"),
    ("lena.vogel@buyers.grasshopper.localhost", "Lena Vogel"),
    ("hector.navarro@buyers.grasshopper.localhost", "Héctor Navarro"),
    ("yara.haddad@buyers.grasshopper.localhost", "Yara Haddad"),
]


@dataclass(frozen=True)
class DemoSeedResult:
    catalogue: SeedResult
    sales: DemoSalesResult

    @property
    def created_anything(self) -> bool:
        return self.catalogue.created_anything or bool(self.sales.orders)


@dataclass(frozen=True)
class DemoResult:
    staff_email: str
    staff_password: str
    organizer_email: str
    organizer_name: str
    created: bool
    catalogue: SeedResult
    sales: DemoSalesResult


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


def demo_buyers() -> list[User]:
    """The demo buyers (created once), in a fixed order."""
    buyers = []
    for email, full_name in DEMO_BUYERS:
        user, created = get_user_model().objects.get_or_create(email=email, defaults={"full_name": full_name})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        buyers.append(user)
    return buyers


@transaction.atomic
def demo_seed(
    *,
    events: int = DEFAULT_EVENTS,
    artists: int = DEFAULT_ARTISTS,
    seed: int = DEFAULT_SEED,
    sales: bool = True,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoSeedResult:
    """Seed the demo catalogue and, unless ``sales`` is off, the paid orders behind its planned sales.

    One transaction. Sales are made only for the ticket types this run inserted, so a re-run (nothing new)
    sells nothing, and ``seed_demo --no-sales`` followed by ``seed_demo`` leaves the first catalogue unsold.
    """
    catalogue = demo_catalogue_seed(events=events, artists=artists, seed=seed, now=now, progress=progress)
    planned = [DemoSale(ticket_type_id=s.ticket_type_id, quantity=s.quantity) for s in catalogue.sales]
    if not (sales and planned):
        return DemoSeedResult(catalogue=catalogue, sales=DemoSalesResult(orders=0, tickets=0, seconds=0.0))
    result = orders_seed_paid(sales=planned, buyers=demo_buyers(), now=now, progress=progress)
    if progress:
        progress(f"Demo sales: {result.orders} paid orders, {result.tickets} tickets ({result.seconds} s)")
    return DemoSeedResult(catalogue=catalogue, sales=result)


@transaction.atomic
def demo_setup() -> DemoResult:
    """Create, once, the demo staff user (a verified superuser), the demo catalogue (default sizes) with
    its sales as paid orders of the demo buyers (``demo_seed``), and an organizer login: a verified staff
    user who manages the first demo organizer's events in the admin.

    Every part is idempotent, so a second run creates nothing (the catalogue is keyed by slug, and sales
    are made only for ticket types inserted by the same run).
    """
    staff, staff_created = _verified_user(email=DEMO_STAFF_EMAIL, full_name="Demo Admin", is_superuser=True)
    seeded = demo_seed()
    catalogue = seeded.catalogue

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
        created=staff_created or member_created or seeded.created_anything,
        catalogue=catalogue,
        sales=seeded.sales,
    )
