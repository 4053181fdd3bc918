"""The demo catalogue: a deterministic, realistic live-music catalogue for `make run`, tests and benchmarks.

``demo_catalogue_seed(events=..., artists=..., seed=...)`` builds a plan of every row in memory, then
inserts the rows that are missing with ``bulk_create`` in batches (10,000 events and 5,000 artists take
seconds on PostgreSQL).

Determinism. Every artist and every event is drawn from its own random generator, seeded with
``(seed, kind, index)``, so the same arguments always plan the same rows. Dates are planned relative to
the day of ``now`` (UTC), so a re-run on the same day gives the same dates too (tests pass ``now``).
Event *i* depends only on the seed, its index and the number of artists, so ``--events 10000`` after
``--events 200`` (same seed and artists) keeps the first 200 events and adds 9,800.

Idempotency: keyed by slug. Organizers, venues, genres, artists and events are identified by their slug;
a run inserts only the rows whose slug is not in the database yet, and creates lineups, ticket types and
genre links only for the events (and artists) it inserted. Running twice adds nothing; rows the demo
user edited are left as they are. (Rejected: "skip if already seeded with this seed", which would need
a marker row and could not grow a catalogue.) Different sizes or another seed plan other slugs, so they
add events beside the existing ones: a catalogue is meant to be seeded with one set of arguments.

Caveats, on purpose:

- ``bulk_create`` sends no ``post_save`` signals and writes no simple-history rows. So the seed does what
  ``events.receivers`` would: it recomputes the new rows' search documents (``events.search``) in the
  same transaction and bumps the catalogue's list cache tags after commit.
- No sales. The catalogue cannot make orders (events sits below orders), and a ``sold`` counter without
  the orders behind it is drift to ``inventory_audit``. So every ticket type is inserted with
  ``sold = held = 0``, and the plan's sales (``TicketPlan.sold``: sold-out, nearly sold-out and ordinary
  demand) come back in ``SeedResult.sales`` for the ticket types this run inserted. The composition root
  (``grasshopper.demo``: ``make run``'s ``demo_setup`` and ``manage.py seed_demo``) turns them into paid
  orders with ``orders.demo`` in the same transaction.

Names of artists, venues and organizers are invented (any likeness to a real act is a coincidence); the
cities, their coordinates and time zones are real. A few artists carry accents (``Café Quetzal``,
``Sigrún Ljós``) so accent-insensitive search can be shown.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify

from events.models import Artist, Event, Genre, Lineup, Organizer, TicketType, Venue

DEFAULT_EVENTS = 200
DEFAULT_ARTISTS = 300
DEFAULT_SEED = 2026
BATCH_SIZE = 1000
# Days ahead in which events are planned ("the coming months").
HORIZON_DAYS = 180

Progress = Callable[[str], None]
M = TypeVar("M", bound=models.Model)

# --- Static data: cities, venues, organizers, genres ------------------------------------------------------


@dataclass(frozen=True)
class City:
    name: str
    slug: str
    country: str
    timezone: str
    currency: str
    latitude: float
    longitude: float
    organizer: str  # slug of the organizer that promotes most shows there


@dataclass(frozen=True)
class VenueData:
    name: str
    city: str  # City.slug
    address: str
    postal_code: str
    capacity: int
    # Offset from the city centre in 1/10,000 degree (about 11 m): puts the venue "somewhere in town".
    dlat: int
    dlng: int
    access: int  # index into ACCESSIBILITY_NOTES
    owned: bool  # kept by the city's organizer (their staff may edit it) or by Grasshopper staff


@dataclass(frozen=True)
class OrganizerData:
    name: str
    slug: str
    email: str
    website: str


ORGANIZERS = [
    # The first is the demo organizer's: grasshopper.demo makes organizer@grasshopper.localhost a manager.
    OrganizerData(
        "Maré Alta Promoções", "mare-alta", "bilheteira@mare-alta.example", "https://mare-alta.example"
    ),
    OrganizerData(
        "Nachtfalter Konzerte", "nachtfalter", "tickets@nachtfalter.example", "https://nachtfalter.example"
    ),
    OrganizerData("Lantern Live", "lantern-live", "hello@lanternlive.example", "https://lanternlive.example"),
    OrganizerData("Sonora Collective", "sonora", "hola@sonora.example", "https://sonora.example"),
]

CITIES = [
    City("Lisbon", "lisbon", "PT", "Europe/Lisbon", "EUR", 38.7223, -9.1393, "mare-alta"),
    City("Porto", "porto", "PT", "Europe/Lisbon", "EUR", 41.1579, -8.6291, "mare-alta"),
    City("Berlin", "berlin", "DE", "Europe/Berlin", "EUR", 52.5200, 13.4050, "nachtfalter"),
    City("Amsterdam", "amsterdam", "NL", "Europe/Amsterdam", "EUR", 52.3676, 4.9041, "nachtfalter"),
    City("London", "london", "GB", "Europe/London", "GBP", 51.5072, -0.1276, "lantern-live"),
    City("Dublin", "dublin", "IE", "Europe/Dublin", "EUR", 53.3498, -6.2603, "lantern-live"),
    City("Barcelona", "barcelona", "ES", "Europe/Madrid", "EUR", 41.3874, 2.1686, "sonora"),
    City("Paris", "paris", "FR", "Europe/Paris", "EUR", 48.8566, 2.3522, "sonora"),
]
CITY_BY_SLUG = {city.slug: city for city in CITIES}

ACCESSIBILITY_NOTES = [
    "Step-free access from the street. Accessible toilets on the ground floor. A raised viewing platform "
    "for wheelchair users and a companion (book it with the box office). Hearing loop at the bar.",
    "Basement room reached by 24 stairs with handrails; there is no lift. Assistance dogs welcome. "
    "Ear plugs free at the bar.",
    "Lift to every floor, accessible toilets on each level, seats available on request and a quiet room "
    "off the foyer. Companion tickets are free for visitors who need one.",
    "Ramp at the side entrance (ring the bell); accessible toilet next to the cloakroom. Standing only "
    "on the main floor, with a few stools kept for those who need them.",
    "Historic building: the stalls are step-free, the balcony is reached by stairs only. Infrared "
    "hearing system; large-print running orders at the door.",
]

VENUES = [
    VenueData("Armazém das Gaivotas", "lisbon", "Rua do Cais Velho 12", "1200-109", 900, -150, 20, 0, True),
    VenueData("Sala Andorinha", "lisbon", "Travessa da Lua 3", "1200-233", 250, -90, -60, 1, False),
    VenueData("Pavilhão Tejo Norte", "lisbon", "Avenida Ribeirinha 80", "1990-221", 6000, 480, 340, 2, False),
    VenueData("Clube Azulejo", "lisbon", "Rua dos Anjos Perdidos 41", "1150-038", 400, 40, 30, 3, True),
    VenueData("Casa do Rio Douro", "porto", "Cais da Ribeira Nova 7", "4050-510", 600, -170, 160, 4, True),
    VenueData("Estúdio Bolhão", "porto", "Rua do Mercado Antigo 22", "4000-250", 300, -90, 240, 1, False),
    VenueData("Auditório Foz Alta", "porto", "Avenida do Farol 150", "4150-375", 1800, -40, -370, 2, False),
    VenueData("Halle am Kanal", "berlin", "Uferstraße 19", "10999", 1500, -220, 190, 0, True),
    VenueData("Kellerlicht", "berlin", "Wiesenweg 4", "10245", 350, -100, 500, 1, False),
    VenueData("Nordbahn Arena", "berlin", "Am Güterbahnhof 1", "13357", 4000, 310, -190, 2, False),
    VenueData("Café Zwölf", "berlin", "Lindenhofstraße 12", "10961", 180, -250, 10, 3, True),
    VenueData("De Zuurdeeg Fabriek", "amsterdam", "Houthavenkade 40", "1013 BB", 1100, 200, -250, 0, True),
    VenueData("Kelder Noord", "amsterdam", "Buiksloterdijk 9", "1031 AD", 300, 150, 100, 1, False),
    VenueData("Zaal Amstelkant", "amsterdam", "Amsteloever 77", "1018 GL", 700, -50, 120, 4, False),
    VenueData("The Copper Kettle Rooms", "london", "14 Wharf Lane", "E2 7QT", 450, 210, 620, 1, True),
    VenueData("Millwright Hall", "london", "88 Canal Street", "N1 9GH", 1200, 260, -50, 0, False),
    VenueData("Southbank Foundry", "london", "3 Foundry Walk", "SE1 7PB", 2500, -30, -110, 2, False),
    VenueData("The Lark & Lantern", "london", "201 Holloway Rise", "N7 6LD", 220, 440, -20, 3, True),
    VenueData("The Liffey Loft", "dublin", "21 Quayside Lane", "D01 K2X4", 400, 10, -50, 1, True),
    VenueData("Ha'penny Hall", "dublin", "5 Merchant's Row", "D02 F6R8", 900, -40, 10, 4, False),
    VenueData("Docklands Ballroom", "dublin", "1 Basin Street Upper", "D04 T3P1", 2000, -80, 380, 2, False),
    VenueData("Sala Mirador", "barcelona", "Carrer de la Font Alta 18", "08004", 800, -120, -100, 0, True),
    VenueData("La Fàbrica de Llum", "barcelona", "Carrer del Teixidor 5", "08005", 1600, 50, 260, 2, False),
    VenueData("Terrat Gòtic", "barcelona", "Carrer dels Vidriers 2", "08002", 200, -50, 80, 1, False),
    VenueData("Nau Poblenou", "barcelona", "Carrer dels Tallers Vells 11", "08018", 2200, 140, 380, 3, True),
    VenueData("Le Phare Bleu", "paris", "12 rue des Lanternes", "75011", 500, 20, 280, 3, True),
    VenueData("L'Entrepôt Canal", "paris", "48 quai des Mariniers", "75019", 1400, 300, 250, 2, False),
    VenueData("Le Petit Métronome", "paris", "7 passage des Horloges", "75010", 180, 150, 80, 4, False),
]

# (name, slug): slugify() would turn "R&B" into "rb".
GENRES = [
    ("Ambient", "ambient"),
    ("Blues", "blues"),
    ("Classical", "classical"),
    ("Drum & Bass", "drum-and-bass"),
    ("Electronic", "electronic"),
    ("Fado", "fado"),
    ("Flamenco", "flamenco"),
    ("Folk", "folk"),
    ("Funk", "funk"),
    ("Hip-Hop", "hip-hop"),
    ("House", "house"),
    ("Indie", "indie"),
    ("Jazz", "jazz"),
    ("Latin", "latin"),
    ("Metal", "metal"),
    ("Pop", "pop"),
    ("Punk", "punk"),
    ("R&B", "r-and-b"),
    ("Reggae", "reggae"),
    ("Rock", "rock"),
    ("Singer-Songwriter", "singer-songwriter"),
    ("Soul", "soul"),
    ("Techno", "techno"),
]
GENRE_NAMES = {slug: name for name, slug in GENRES}
# Genres whose shows are club nights: late start, long sets, 18+.
CLUB_GENRES = {"techno", "house", "drum-and-bass", "electronic"}

# --- Vocabulary for invented artists ----------------------------------------------------------------------

# Shown first (artists 0..19), so even a small seed has accented names to search for without accents.
CURATED_ARTISTS = [
    ("Café Quetzal", ["latin", "rock"]),
    ("Sigrún Ljós", ["ambient", "indie"]),
    ("Névoa Azul", ["fado"]),
    ("Zoë & the Kélpies", ["folk", "indie"]),
    ("Los Relámpagos de Mayo", ["latin", "punk"]),
    ("Amélie Duvernoy", ["singer-songwriter", "pop"]),
    ("Ólafur Strand", ["classical", "ambient"]),
    ("Mão de Sal", ["fado", "folk"]),
    ("Ångström Youth", ["electronic", "indie"]),
    ("Düsenwerk", ["techno"]),
    ("Crème Brûlée Club", ["funk", "soul"]),
    ("Ñandú Sound System", ["reggae", "latin"]),
    ("Håkon Ødegård", ["jazz"]),
    ("Lúa Ferreira", ["singer-songwriter", "folk"]),
    ("Renée Lefèvre Trio", ["jazz", "soul"]),
    ("Saudade Elétrica", ["electronic", "fado"]),
    ("Señor Cóndor", ["hip-hop", "latin"]),
    ("Jürgen & die Ströme", ["punk", "rock"]),
    ("Siobhán Ní Bhraonáin", ["folk"]),
    ("Les Étoiles Filantes", ["pop", "r-and-b"]),
]


def _words(text: str, separator: str | None = None) -> list[str]:
    """A vocabulary list written as one string (readable, and one line per hundred characters)."""
    return [word.strip() for word in text.split(separator) if word.strip()]


ADJECTIVES = _words("""
    Velvet Paper Silver Hollow Electric Quiet Golden Midnight Crooked Neon Amber Wild Lonely Glass Northern
    Static Cosmic Tidal Rusty Copper Violet Lucid Feral Salt Sleepy Distant Warm Bright Little Secret
    Wandering Burning Drowned Marble Fading Restless Opal Indigo Analog Phantom Scarlet Gentle Heavy Sunken
    Frozen Hidden Paisley Lunar Orange Slow
""")
NOUNS = _words("""
    Harbour Lantern Orchard Signal Comet Moth Atlas Meadow Parade Engine Mirror Garden Echo Ferry Lighthouse
    Satellite Canyon Tangerine Pilot Harvest Thunder River Forest Monsoon Motel Cathedral Radio Volcano
    Balcony Carousel Ocean Pigeon Magnet Horizon Fox Owl Heron Wolf Raven Cassette Tram Bridge Tide Ember
    Orbit Prism Cactus Glacier Island Lagoon
""")
PLURALS = {"Fox": "Foxes", "Echo": "Echoes", "Wolf": "Wolves", "Volcano": "Volcanoes", "Cactus": "Cacti"}
FIRST_NAMES = _words(
    "Inês|João|Zoë|Søren|Noémie|Mathéo|Iñaki|Maëlle|Ólöf|Ruairí|Siobhán|Aoife|Jürgen|Íris|Tomás|Héctor|"
    "Björn|Léa|Marta|Lena|Finn|Oskar|Clara|Nadia|Theo|Rosa|Pablo|Elif|Kofi|Amara|Yara|Milo|Hana|Luca|"
    "Freya|Ana|Nico|Ada|Emil|Vera|Jonas|Mira|Sami|Ivo|Lior|Chloé|Aurélien|Sinéad|Dário|Carmen",
    "|",
)
LAST_NAMES = _words(
    "Ferreira|Duvernoy|Lindqvist|Okafor|Mäkinen|Castell|Moreau|Brennan|Vogel|Albuquerque|Haddad|"
    "Kowalczyk|Santos|Delacroix|Ó Briain|Rivas|Nakamura|Fischer|Lefèvre|Quintana|Bergström|Costa|Murphy|"
    "Dubois|Keller|Navarro|Almeida|Janssen|van Dijk|Rossi|Garnier|Ní Dhuibhir|Petrović|Ibáñez|Sørensen|"
    "Whitlock|Ashdown|Marlowe|Pinheiro|Varga",
    "|",
)
SYLLABLES = ["lu", "na", "ve", "ko", "ri", "sa", "to", "mi", "zé", "ló", "an", "el", "ka", "dor", "ra", "ví"]
ENSEMBLES = ["Trio", "Quartet", "Quintet", "Orchestra", "Ensemble", "Collective", "Sound System", "Band"]
HOMETOWNS = _words(
    "Lisbon|Coimbra|Porto|Leipzig|Glasgow|Bristol|Rotterdam|Valencia|Lyon|Cork|Reykjavík|Gothenburg|"
    "Bogotá|São Paulo|Montréal|Kraków|Marseille|Sevilla|Galway|Hamburg|Manchester|Utrecht|Toulouse|Braga",
    "|",
)
TEXTURES = [
    "a lot of reverb",
    "field recordings",
    "a three-piece brass section",
    "analogue synthesisers",
    "twelve-string guitars",
    "tape loops",
    "a choir of friends",
    "hand percussion",
    "a battered Wurlitzer",
    "pedal steel",
    "drum machines bought at flea markets",
    "a string quartet",
]
PRAISE = [
    "made half the year-end lists that matter",
    "sold out two nights in a row at home",
    "was recorded live in a single afternoon",
    "turned a word-of-mouth following into a touring life",
    "was written on night trains across Europe",
    "earned them a late-night radio session and a loyal crowd",
]
TOUR_WORDS = ["Tour", "Tour", "Live", "Summer Run", "Album Tour", "Unplugged"]
SERIES = ["Late Session", "Sunday Sounds", "Night Shift", "Open Air Nights", "Basement Club", "First Light"]
REFUND_POLICIES = [
    "Tickets are refundable up to 14 days before the show. If the event is cancelled or moved, you get a "
    "full refund, fee included.",
    "No refunds, except if the event is cancelled or postponed: then every ticket is refunded in full.",
    "Refunds until 48 hours before doors. Tickets can be passed on to a friend by changing the name on them.",
]
SUPPORT_SLOT_MINUTES = 45


# --- The plan -----------------------------------------------------------------------------------------------


@dataclass
class ArtistPlan:
    slug: str
    name: str
    bio: str
    genres: list[str]
    website: str


@dataclass
class TicketPlan:
    name: str
    description: str
    price: Decimal
    fee: Decimal
    currency: str
    capacity: int
    sold: int  # planned sales: returned in SeedResult.sales, never written to TicketType.sold here
    sales_start: datetime | None = None
    sales_end: datetime | None = None
    member_presale_start: datetime | None = None
    max_per_order: int = 8


@dataclass
class LineupPlan:
    artist: int  # index into the artist plans
    position: int
    is_headliner: bool
    set_time: datetime


@dataclass
class EventPlan:
    slug: str
    title: str
    description: str
    organizer: str
    venue: str
    starts_at: datetime
    ends_at: datetime
    doors_at: datetime
    timezone: str
    status: str
    age_limit: int | None
    refund_policy: str
    is_featured: bool
    genres: list[str]
    lineup: list[LineupPlan] = field(default_factory=list)
    tickets: list[TicketPlan] = field(default_factory=list)


@dataclass(frozen=True)
class PlannedSale:
    """Seats of one inserted ticket type that the demo says were sold (orders are made above events)."""

    ticket_type_id: int
    quantity: int


@dataclass(frozen=True)
class SeedResult:
    """What one run inserted (zeros on a re-run) and how long it took; ``sales`` are the planned sales of
    the ticket types it inserted, still to be made into orders by the caller."""

    organizers: int
    venues: int
    genres: int
    artists: int
    events: int
    lineups: int
    ticket_types: int
    seconds: float
    sales: tuple[PlannedSale, ...] = ()

    @property
    def created_anything(self) -> bool:
        return any((self.organizers, self.venues, self.genres, self.artists, self.events))


def _rng(seed: int, kind: str, index: int) -> random.Random:
    # String seeds are hashed with SHA-512 by random.seed(version=2): stable across processes and
    # independent of PYTHONHASHSEED.
    # Not for secrets: demo data only.
    return random.Random(f"grasshopper-demo:{seed}:{kind}:{index}")  # noqa: S311 # nosec B311


_TRANSLITERATE = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "ð": "d", "þ": "th"})


def _slug(text: str, *, max_length: int = 180) -> str:
    # slugify() drops what NFKD cannot decompose (ø, ß); spell those out first.
    return slugify(text.translate(_TRANSLITERATE))[:max_length].strip("-") or "x"


def _unique(base: str, used: set[str]) -> str:
    slug, n = base, 1
    while slug in used:
        n += 1
        slug = f"{base}-{n}"
    used.add(slug)
    return slug


def _plural(noun: str) -> str:
    if noun in PLURALS:
        return PLURALS[noun]
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _money(value: float | Decimal, step: str = "0.50") -> Decimal:
    """Round to a price step (0.50 for prices, 0.05 for fees), two decimal places."""
    quantum = Decimal(step)
    return (
        (Decimal(str(value)) / quantum).quantize(Decimal("1"), rounding=ROUND_HALF_UP) * quantum
    ).quantize(Decimal("0.01"))


def _invented_name(rng: random.Random) -> str:
    pattern = rng.randrange(9)
    adjective, noun = rng.choice(ADJECTIVES), rng.choice(NOUNS)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    if pattern == 0:
        return f"The {adjective} {_plural(noun)}"
    if pattern == 1:
        return f"{adjective} {noun}"
    if pattern in (2, 3):
        return f"{first} {last}"
    if pattern == 4:
        return f"{first} {last} {rng.choice(ENSEMBLES)}"
    if pattern == 5:
        return f"{noun} & the {_plural(rng.choice(NOUNS))}"
    if pattern == 6:
        return f"DJ {rng.choice(NOUNS)}{rng.choice(['', ' ' + adjective, ''])}".strip()
    if pattern == 7:
        word = "".join(rng.choice(SYLLABLES) for _ in range(3))
        return word.capitalize()
    return f"{adjective} {noun} {rng.choice(ENSEMBLES)}"


def _artist_bio(rng: random.Random, name: str, genres: Sequence[str]) -> str:
    solo = " " not in name or name.split()[0] in FIRST_NAMES
    hometown = rng.choice(HOMETOWNS)
    year = rng.randint(2004, 2022)
    styles = " and ".join(GENRE_NAMES[g].lower() for g in genres)
    origin = (
        f"{name} grew up in {hometown} and started playing out in {year}."
        if solo
        else f"{name} formed in {hometown} in {year}."
    )
    album = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
    ordinal = rng.choice(["debut", "second", "third", "fourth"])
    return (
        f"{origin} The sound is {styles} with {rng.choice(TEXTURES)}. "
        f"The {ordinal} album, {album}, {rng.choice(PRAISE)}."
    )


def plan_artists(*, count: int, seed: int) -> list[ArtistPlan]:
    """Artist *j* depends on the seed and on artists 0..j-1 only (names and slugs are kept unique)."""
    genre_slugs = [slug for _, slug in GENRES]
    used_names: set[str] = set()
    used_slugs: set[str] = set()
    plans: list[ArtistPlan] = []
    for index in range(count):
        rng = _rng(seed, "artist", index)
        if index < len(CURATED_ARTISTS):
            name, genres = CURATED_ARTISTS[index]
        else:
            name = _invented_name(rng)
            for _ in range(10):
                if name not in used_names:
                    break
                name = _invented_name(rng)
            genres = rng.sample(genre_slugs, k=rng.choice([1, 1, 2]))
        used_names.add(name)
        slug = _unique(_slug(name), used_slugs)
        website = f"https://{slug}.example.org" if rng.random() < 0.5 else ""
        plans.append(ArtistPlan(slug, name, _artist_bio(rng, name, genres), list(genres), website))
    return plans


def _local(day: date, hour: int, minute: int, tz: str) -> datetime:
    """A wall-clock time in a city, as an aware UTC datetime."""
    return datetime.combine(day, clock(hour, minute), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _ticket_plans(
    rng: random.Random, *, index: int, status: str, venue: VenueData, city: City, day: date, base: date
) -> list[TicketPlan]:
    capacity = venue.capacity
    currency = city.currency
    if index % 20 == 11:  # a free show: registration only
        return [
            TicketPlan(
                name="Free entry",
                description="Free, but register so we know how many of you are coming.",
                price=Decimal("0.00"),
                fee=Decimal("0.00"),
                currency=currency,
                capacity=min(capacity, 300),
                sold=rng.randint(0, min(capacity, 300) // 2),
                max_per_order=4,
            )
        ]
    # Bigger rooms, dearer tickets.
    low, high = (10, 22) if capacity <= 400 else (18, 38) if capacity <= 1500 else (32, 75)
    base_price = rng.uniform(low, high)
    kinds = rng.choice([["ga"], ["ga"], ["early", "ga"], ["early", "ga", "vip"], ["ga", "vip"]])
    general = max(int(capacity * rng.uniform(0.55, 0.85)), 20)
    plans: list[TicketPlan] = []
    for kind in kinds:
        if kind == "early":
            price = base_price * 0.75
            plans.append(
                TicketPlan(
                    name="Early bird",
                    description="The first tickets, at a lower price.",
                    price=_money(price),
                    fee=max(_money(price * 0.1, "0.05"), Decimal("1.00")),
                    currency=currency,
                    capacity=max(capacity // 10, 10),
                    sold=0,
                    max_per_order=4,
                )
            )
        elif kind == "ga":
            plans.append(
                TicketPlan(
                    name="General admission" if capacity < 2000 else "Standing",
                    description="" if capacity < 2000 else "Standing on the main floor.",
                    price=_money(base_price),
                    fee=max(_money(base_price * 0.1, "0.05"), Decimal("1.00")),
                    currency=currency,
                    capacity=general,
                    sold=0,
                    max_per_order=8,
                )
            )
        else:
            price = base_price * rng.uniform(1.8, 2.6)
            plans.append(
                TicketPlan(
                    name="VIP" if capacity < 2000 else "Seated balcony",
                    description="Early entry, a signed poster and a seat upstairs."
                    if capacity < 2000
                    else "A reserved seat on the balcony.",
                    price=_money(price),
                    fee=_money(price * 0.08, "0.05"),
                    currency=currency,
                    capacity=max(capacity // 20, 10),
                    sold=0,
                    max_per_order=4,
                )
            )

    days_ahead = (day - base).days
    if status == Event.Status.PUBLISHED and index % 10 == 6 and days_ahead > 21:
        # Announced, tickets not on sale yet: "Sales start ..." with a member presale two days before.
        sales_day = base + timedelta(days=rng.randint(3, min(days_ahead - 7, 30)))
        for plan in plans:
            plan.sales_start = _local(sales_day, 10, 0, city.timezone)
            plan.member_presale_start = plan.sales_start - timedelta(days=2)
        return plans
    if status in (Event.Status.DRAFT, Event.Status.CANCELLED):
        return plans  # nothing sold (a cancelled show's tickets were refunded)

    sold_out, nearly = index % 15 == 4, index % 15 == 9
    # Closer shows have sold more.
    demand = min(rng.uniform(0.05, 0.6) + (0.3 if days_ahead < 30 else 0.0), 0.95)
    for plan in plans:
        if sold_out:
            plan.sold = plan.capacity
        elif plan.name == "Early bird":
            # Early birds went first: sold out, or their sales window closed.
            plan.sold = plan.capacity
            if days_ahead > 10 and rng.random() < 0.5:
                plan.sold = plan.capacity - rng.randint(1, plan.capacity // 2)
                plan.sales_end = _local(base - timedelta(days=rng.randint(1, 20)), 23, 59, city.timezone)
        elif nearly:
            plan.sold = plan.capacity - rng.randint(1, min(8, plan.capacity))
        else:
            plan.sold = int(plan.capacity * demand)
    return plans


def plan_events(
    *, count: int, seed: int, artists: Sequence[ArtistPlan], base: date, horizon_days: int = HORIZON_DAYS
) -> list[EventPlan]:
    """Event *i* depends on the seed, its index, the artist plans, ``base`` and events 0..i-1 (slugs)."""
    if count and not artists:
        raise ValueError("events need at least one artist")
    used_slugs: set[str] = set()
    plans: list[EventPlan] = []
    for index in range(count):
        rng = _rng(seed, "event", index)
        venue = rng.choice(VENUES)
        city = CITY_BY_SLUG[venue.city]
        # Mostly the city's promoter; a touring promoter now and then, but only in venues nobody owns (an
        # organizer holds events in its own venues and in Grasshopper's shared ones, never in another's).
        touring, touring_organizer = rng.random() < 0.15, rng.choice(ORGANIZERS).slug
        organizer = touring_organizer if touring and not venue.owned else city.organizer
        day = base + timedelta(days=rng.randint(1, horizon_days))

        supports = rng.choice([0, 1, 1, 2, 2, 3])
        picks = rng.sample(range(len(artists)), k=min(1 + supports, len(artists)))
        headliner = artists[picks[0]]
        genres = list(headliner.genres)
        club = bool(CLUB_GENRES.intersection(genres))

        if club:
            starts_at = _local(day, 23, 0, city.timezone)
            slot = 90
        else:
            hour, minute = rng.choice([(19, 0), (19, 30), (20, 0), (20, 0), (20, 30), (21, 0)])
            starts_at = _local(day, hour, minute, city.timezone)
            slot = SUPPORT_SLOT_MINUTES
        # Billing order: headliner first. Running order: the last support opens, the headliner closes.
        lineup = [
            LineupPlan(
                artist=artist,
                position=position,
                is_headliner=position == 1,
                set_time=starts_at + timedelta(minutes=slot * (len(picks) - position)),
            )
            for position, artist in enumerate(picks, start=1)
        ]
        headliner_set = lineup[0].set_time
        ends_at = headliner_set + timedelta(minutes=150 if club else rng.choice([75, 90, 105]))
        doors_at = starts_at - timedelta(minutes=rng.choice([30, 60, 60]))

        roll = rng.random()
        if roll < 0.7:
            title = headliner.name
        elif roll < 0.9:
            title = f"{headliner.name}: {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.choice(TOUR_WORDS)}"
        else:
            title = f"{rng.choice(SERIES)} with {headliner.name}"

        if index % 40 == 7:
            status = Event.Status.DRAFT
        elif index % 50 == 13:
            status = Event.Status.CANCELLED
        elif index % 50 == 29:
            status = Event.Status.POSTPONED
        else:
            status = Event.Status.PUBLISHED
        support_names = [artists[p].name for p in picks[1:]]
        support = f" Support from {' and '.join(support_names)}." if support_names else ""
        description = (
            f"{headliner.name} live at {venue.name}, {city.name}: a night of "
            f"{' and '.join(GENRE_NAMES[g].lower() for g in genres)} music.{support} "
            f"Doors open {int((starts_at - doors_at).total_seconds() // 60)} minutes before the first set."
        )
        if status == Event.Status.CANCELLED:
            description += " This show is cancelled; every ticket has been refunded."
        elif status == Event.Status.POSTPONED:
            description += " This show is postponed: tickets stay valid for the new date, to be announced."

        slug = _unique(f"{_slug(title, max_length=150)}-{city.slug}", used_slugs)
        plans.append(
            EventPlan(
                slug=slug,
                title=title,
                description=description,
                organizer=organizer,
                venue=_slug(venue.name),
                starts_at=starts_at,
                ends_at=ends_at,
                doors_at=doors_at,
                timezone=city.timezone,
                status=status,
                age_limit=18 if club else rng.choice([None, None, None, 16, 18]),
                refund_policy=rng.choice(REFUND_POLICIES),
                is_featured=status == Event.Status.PUBLISHED and index % 25 == 3,
                genres=genres,
                lineup=lineup,
                tickets=_ticket_plans(
                    rng, index=index, status=status, venue=venue, city=city, day=day, base=base
                ),
            )
        )
    return plans


# --- Writing ------------------------------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int = BATCH_SIZE) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _ids_by_slug(model: type[models.Model], slugs: Sequence[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in _chunks(slugs):
        ids.update(model._default_manager.filter(slug__in=chunk).values_list("slug", "pk"))
    return ids


def _bulk_insert(model: type[M], rows: Sequence[M], *, label: str, progress: Progress | None) -> None:
    """Insert in batches; for long runs, say how far we are."""
    total = len(rows)
    for done, chunk in enumerate(_chunks(rows), start=1):
        model._default_manager.bulk_create(chunk)
        if progress and total > BATCH_SIZE:
            progress(f"  {label}: {min(done * BATCH_SIZE, total)}/{total}")


def _insert_missing(
    model: type[M], rows: Sequence[M], *, label: str, progress: Progress | None
) -> tuple[dict[str, int], set[str]]:
    """Insert the rows whose slug is not taken yet; return every row's id by slug, and the new slugs."""
    slugs = [row.slug for row in rows]  # type: ignore[attr-defined]
    existing = _ids_by_slug(model, slugs)
    new = [row for row in rows if row.slug not in existing]  # type: ignore[attr-defined]
    _bulk_insert(model, new, label=label, progress=progress)
    return _ids_by_slug(model, slugs), {row.slug for row in new}  # type: ignore[attr-defined]


def _genre_ids() -> tuple[dict[str, int], int]:
    """Our genres by slug, matching existing rows by slug or by name (both are unique)."""
    by_slug = dict(Genre.objects.values_list("slug", "pk"))
    by_name = dict(Genre.objects.values_list("name", "pk"))
    missing = [
        Genre(name=name, slug=slug) for name, slug in GENRES if slug not in by_slug and name not in by_name
    ]
    Genre.objects.bulk_create(missing)
    by_slug = dict(Genre.objects.values_list("slug", "pk"))
    by_name = dict(Genre.objects.values_list("name", "pk"))
    return {slug: by_slug.get(slug) or by_name[name] for name, slug in GENRES}, len(missing)


def _refresh_search_and_cache(
    *, event_ids: list[int], artist_ids: list[int], venue_ids: list[int], progress: Progress | None
) -> None:
    """bulk_create sent no signals: recompute the search documents of what we inserted, and (after commit)
    invalidate the cached catalogue lists, as events.receivers would have."""
    if not (event_ids or artist_ids or venue_ids):
        return
    # Imported here, as the receivers do: search builds on the models, not the other way round.
    from events.cache import TAG_ARTISTS, TAG_EVENTS, TAG_GENRES, TAG_SEARCH, TAG_VENUES
    from events.search import search_refresh_artists, search_refresh_events, search_refresh_venues
    from grasshopper.lib.cache import tag_bump

    refreshers: list[tuple[str, Callable[[list[int]], object], list[int]]] = [
        ("venues", lambda ids: search_refresh_venues(venue_ids=ids), venue_ids),
        ("artists", lambda ids: search_refresh_artists(artist_ids=ids), artist_ids),
        ("events", lambda ids: search_refresh_events(event_ids=ids), event_ids),
    ]
    for label, refresh, ids in refreshers:
        for done, chunk in enumerate(_chunks(ids), start=1):
            refresh(list(chunk))
            if progress and len(ids) > BATCH_SIZE:
                progress(f"  search {label}: {min(done * BATCH_SIZE, len(ids))}/{len(ids)}")
    # The list tags only: the new rows' own pages cannot have been cached yet.
    tags = (TAG_EVENTS, TAG_ARTISTS, TAG_VENUES, TAG_GENRES, TAG_SEARCH)
    transaction.on_commit(lambda: tag_bump(*tags))


@transaction.atomic
def demo_catalogue_seed(
    *,
    events: int = DEFAULT_EVENTS,
    artists: int = DEFAULT_ARTISTS,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> SeedResult:
    """Insert the demo catalogue's missing rows (see the module docstring) and refresh their search documents.

    One transaction: a failed run leaves nothing half-seeded.
    """
    if events < 0 or artists < 0:
        raise ValueError("sizes cannot be negative")
    started = time.monotonic()
    now = now or timezone.now()
    base = now.astimezone(UTC).date()

    def say(message: str) -> None:
        if progress:
            progress(f"{message} ({time.monotonic() - started:.1f} s)")

    if events and not artists:
        raise ValueError("events need at least one artist")
    artist_plans = plan_artists(count=artists, seed=seed)
    event_plans = plan_events(count=events, seed=seed, artists=artist_plans, base=base)
    say(f"Planned {len(artist_plans)} artists and {len(event_plans)} events (seed {seed})")

    genre_ids, genres_created = _genre_ids()
    organizer_ids, new_organizers = _insert_missing(
        Organizer,
        [Organizer(name=o.name, slug=o.slug, email=o.email, website=o.website) for o in ORGANIZERS],
        label="organizers",
        progress=progress,
    )
    venue_rows = []
    for v in VENUES:
        city = CITY_BY_SLUG[v.city]
        venue_rows.append(
            Venue(
                name=v.name,
                slug=_slug(v.name),
                address=v.address,
                postal_code=v.postal_code,
                city=city.name,
                country=city.country,
                latitude=Decimal(f"{city.latitude + v.dlat / 10_000:.6f}"),
                longitude=Decimal(f"{city.longitude + v.dlng / 10_000:.6f}"),
                capacity=v.capacity,
                accessibility_notes=ACCESSIBILITY_NOTES[v.access],
                website=f"https://{_slug(v.name)}.example.org",
                organizer_id=organizer_ids[city.organizer] if v.owned else None,
            )
        )
    venue_ids, new_venues = _insert_missing(Venue, venue_rows, label="venues", progress=progress)

    artist_ids, new_artists = _insert_missing(
        Artist,
        [Artist(name=a.name, slug=a.slug, bio=a.bio, website=a.website) for a in artist_plans],
        label="artists",
        progress=progress,
    )
    Artist.genres.through.objects.bulk_create(
        [
            Artist.genres.through(artist_id=artist_ids[a.slug], genre_id=genre_ids[g])
            for a in artist_plans
            if a.slug in new_artists
            for g in a.genres
        ],
        batch_size=BATCH_SIZE,
        ignore_conflicts=True,
    )
    say(f"Organizers +{len(new_organizers)}, venues +{len(new_venues)}, artists +{len(new_artists)}")

    event_ids, new_events = _insert_missing(
        Event,
        [
            Event(
                organizer_id=organizer_ids[e.organizer],
                venue_id=venue_ids[e.venue],
                title=e.title,
                slug=e.slug,
                description=e.description,
                starts_at=e.starts_at,
                ends_at=e.ends_at,
                doors_at=e.doors_at,
                timezone=e.timezone,
                status=e.status,
                age_limit=e.age_limit,
                refund_policy=e.refund_policy,
                is_featured=e.is_featured,
            )
            for e in event_plans
        ],
        label="events",
        progress=progress,
    )
    inserted = [e for e in event_plans if e.slug in new_events]
    Event.genres.through.objects.bulk_create(
        [
            Event.genres.through(event_id=event_ids[e.slug], genre_id=genre_ids[g])
            for e in inserted
            for g in e.genres
        ],
        batch_size=BATCH_SIZE,
        ignore_conflicts=True,
    )
    lineups = [
        Lineup(
            event_id=event_ids[e.slug],
            artist_id=artist_ids[artist_plans[slot.artist].slug],
            position=slot.position,
            is_headliner=slot.is_headliner,
            set_time=slot.set_time,
        )
        for e in inserted
        for slot in e.lineup
    ]
    _bulk_insert(Lineup, lineups, label="lineups", progress=progress)
    # Counters start at zero: the planned sales are returned, not written (see the module docstring).
    planned = [(e, t) for e in inserted for t in e.tickets]
    ticket_types = [
        TicketType(
            event_id=event_ids[e.slug],
            name=t.name,
            description=t.description,
            price=t.price,
            fee=t.fee,
            currency=t.currency,
            capacity=t.capacity,
            sold=0,
            held=0,
            sales_start=t.sales_start,
            sales_end=t.sales_end,
            member_presale_start=t.member_presale_start,
            max_per_order=t.max_per_order,
            position=position,
        )
        for e in inserted
        for position, t in enumerate(e.tickets)
    ]
    _bulk_insert(TicketType, ticket_types, label="ticket types", progress=progress)
    # bulk_create sets the new primary keys on PostgreSQL and SQLite (RETURNING); same order as planned.
    sales = tuple(
        PlannedSale(ticket_type_id=row.pk, quantity=t.sold)
        for row, (_, t) in zip(ticket_types, planned, strict=True)
        if t.sold
    )
    say(f"Events +{len(inserted)}, lineup slots +{len(lineups)}, ticket types +{len(ticket_types)}")

    _refresh_search_and_cache(
        event_ids=sorted(event_ids[slug] for slug in new_events),
        artist_ids=sorted(artist_ids[slug] for slug in new_artists),
        venue_ids=sorted(venue_ids[slug] for slug in new_venues),
        progress=progress,
    )
    if new_events or new_artists or new_venues:
        say("Search documents refreshed")
    return SeedResult(
        organizers=len(new_organizers),
        venues=len(new_venues),
        genres=genres_created,
        artists=len(new_artists),
        events=len(inserted),
        lineups=len(lineups),
        ticket_types=len(ticket_types),
        seconds=round(time.monotonic() - started, 2),
        sales=sales,
    )
