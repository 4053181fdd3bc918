"""Flash-sale benchmark: 64 signed-in buyers race for one ticket type of 2,000 seats over the orders API.

    make bench-flashsale                      # or: .venv/bin/python bench/flashsale.py [options]

1. creates the PostgreSQL database ``grasshopper_flash`` (dropping a previous one), migrates it, and through
   the ORM (``manage.py shell``) creates one published event with one ticket type of ``--capacity`` seats
   (price 0: orders are paid at once and their tickets issued; ``--paid``: a priced ticket type, orders stay
   pending with their seats held) and ``--buyers`` accounts with a verified address.
   Then the machine's reference, on the idle machine: ``pgbench`` running a free order's writes as bare SQL
   (same statements, one hot seats row, as many connections as gunicorn workers) for
   ``--reference-seconds``, and a fixed pure-Python loop: this machine's speed moves by 2x between days;
2. starts gunicorn with production settings (DEBUG off, JSON logs at WARNING, Redis db 8 as the cache, the
   orders rate limit off and the API throttles lifted) and waits for ``/healthz``;
3. signs every buyer in through allauth headless (``POST /_allauth/app/v1/auth/login``: a session token),
   before the measured phase;
4. measured phase: the buyers, on an event loop in each of a few processes, each on its own connection,
   ``POST /api/v1/orders/`` orders of 1-2 tickets until sold out; a buyer stops after ``--stop-after``
   ``sold_out`` answers (told "only 1 left", it asks for 1). Measured from the first request to the last;
5. prints ONE JSON line on stdout (progress goes to stderr): orders/s, requests/s, latencies of accepted and
   refused requests, refusals by code, sold/held/capacity read from the database, oversold, tickets issued,
   5xx count, and whether ``manage.py inventory_audit`` exits 0;
6. stops gunicorn, flushes Redis db 8 and drops the database (unless ``--keep``).

``--profile`` adds an in-process run (one Python process, no gunicorn) of the same API call through the
Django test client on a fresh ticket type: queries per order, time in SQL vs in Python, and the top
functions by cumulative time (cProfile). ``--instructions`` counts, under valgrind's callgrind, the CPU
instructions of one order and of one refused request, in one process through the test client and in a
gunicorn worker over HTTP (``server_per_*``): figures that do not move with the machine's load, for
comparing two versions of the code. ``--sample`` samples the gunicorn workers with py-spy during the sale
(needs ptrace rights: root here) and reports the shares of their CPU by part of the request (``samples``);
the sampler slows the workers, so that run's orders/s is not comparable. See bench/README.md, "Flash sale".

Buyers present distinct client IPs (``X-Real-IP: 10.8.0.N``, with ``DJANGO_RATELIMIT_IP_META_KEY`` set to
that header, as behind a proxy): allauth's login limit (30/min per IP) would otherwise refuse the sign-ins.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import http.client
import json
import multiprocessing
import os
import random
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import redis
from psycopg import sql as pgsql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from catalogue import (  # the shared helpers of the catalogue benchmark
    ROOT,
    STRIPE_ENV,
    VENV_BIN,
    database_recreate,
    database_url,
    free_port,
    gunicorn_start,
    gunicorn_stop,
    gunicorn_wait,
    percentile,
)

TARGET_ORDERS_PER_S = 300
ORDERS = "/api/v1/orders/"
LOGIN = "/_allauth/app/v1/auth/login"
PASSWORD = "Flash-Sale-Bench-7394"  # noqa: S105 (throw-away accounts in a throw-away database)
IP_HEADER = "X-Real-IP"


def log(message: str) -> None:
    print(f"[flash] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--capacity", type=int, default=2_000, help="seats of the one ticket type")
    parser.add_argument("--buyers", type=int, default=64, help="concurrent buyers (accounts)")
    parser.add_argument(
        "--client-processes",
        type=int,
        default=2,
        help="processes the buyers are spread over (an event loop each)",
    )
    parser.add_argument(
        "--max-quantity", type=int, default=2, help="each order asks for 1..this many tickets"
    )
    parser.add_argument("--stop-after", type=int, default=3, help="a buyer stops after this many sold_out")
    parser.add_argument("--deadline", type=float, default=120.0, help="upper bound of the measured phase (s)")
    parser.add_argument(
        "--paid", action="store_true", help="a priced ticket type: orders stay pending (held)"
    )
    parser.add_argument("--seed", type=int, default=2026)
    # Measured on 2 cores (bench/README.md, 2026-11-28, third session): sync workers, one per core. An order
    # now computes ~2.6 ms and waits on PostgreSQL well under 1 ms, so a second worker per core finds
    # little idle time to fill and makes every order dearer (server CPU per order 3.4-4.1 ms with 2
    # workers, 4.7-5.2 with 4); threads (gthread) fight over the GIL.
    parser.add_argument("--workers", type=int, default=cores, help="gunicorn workers (one per core)")
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync")
    parser.add_argument("--threads", type=int, default=2, help="threads per gthread worker")
    parser.add_argument(
        "--preload",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="load the application before forking the workers (gunicorn --preload)",
    )
    parser.add_argument(
        "--database", default="grasshopper_flash", help="PostgreSQL database (created, dropped)"
    )
    parser.add_argument(
        "--pg", default="host=127.0.0.1 port=5432 user=postgres", help="libpq connection string"
    )
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/8", help="cache of the benchmarked site"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reference-seconds",
        type=int,
        default=5,
        help="seconds of the pgbench reference run before the sale (0: skip it)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="also profile the API call in one process (cProfile, SQL time)"
    )
    parser.add_argument("--profile-orders", type=int, default=300, help="orders of the in-process profile")
    parser.add_argument("--profile-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count the CPU instructions of one order and of one refused request (valgrind's callgrind)",
    )
    parser.add_argument(
        "--instructions-orders", type=int, default=40, help="API calls counted per kind (--instructions)"
    )
    parser.add_argument(
        "--sample",
        action="store_true",
        help="also sample the gunicorn workers during the sale (py-spy): where the server's CPU goes",
    )
    parser.add_argument("--instructions-child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def site_env(args: argparse.Namespace) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_"))},
        "DJANGO_SETTINGS_MODULE": "grasshopper.settings.base",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url(args),
        "REDIS_URL": args.redis_url,
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_STATIC_MANIFEST": "false",
        **STRIPE_ENV,
        "LOG_FORMAT": "json",
        "DJANGO_LOG_LEVEL": "WARNING",
        "ORDERS_RATE_LIMIT_ENABLED": "false",
        "API_THROTTLE_USER": "1000000/min",
        "API_THROTTLE_ANON": "1000000/min",
        # One client IP per buyer (sent in X-Real-IP), as behind a proxy: see the module docstring.
        "DJANGO_RATELIMIT_IP_META_KEY": "HTTP_X_REAL_IP",
        "PYTHONUNBUFFERED": "1",
        "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
    }


def database_from_migrated_template(args: argparse.Namespace, env: dict[str, str]) -> None:
    """Create ``args.database`` as a copy of a migrated template database, migrating the template first if
    it does not exist. The template's name carries a hash of every migration file, so a new or changed
    migration gets a fresh one; migrating from scratch takes 1-2 minutes here, a copy a second."""
    digest = hashlib.sha256()
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + path.read_bytes())
    template = f"{args.database}_tpl_{digest.hexdigest()[:12]}"
    with psycopg.connect(f"{args.pg} dbname=postgres", autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone()
        if found is None:
            log(f"migrating a template database {template} (once per set of migrations)")
            for stale in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{args.database}_tpl_%"]
            ).fetchall():
                conn.execute(pgsql.SQL("DROP DATABASE {} WITH (FORCE)").format(pgsql.Identifier(stale[0])))
            conn.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(template)))
            subprocess.run(  # noqa: S603 (our own manage.py, fixed arguments)
                [str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"],
                cwd=ROOT,
                env={**env, "DATABASE_URL": env["DATABASE_URL"].rsplit("/", 1)[0] + "/" + template},
                check=True,
                stdout=sys.stderr,
            )
        conn.execute(
            pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(args.database))
        )
        conn.execute(
            pgsql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                pgsql.Identifier(args.database), pgsql.Identifier(template)
            )
        )


# --- Set-up through the ORM -------------------------------------------------------------------------------

SETUP_CODE = """
import json, sys
from datetime import timedelta
from decimal import Decimal
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from accounts.models import User
from events.models import Event, Organizer, TicketType, Venue

spec = SPEC
organizer = Organizer.objects.create(name="Flash Promoter", slug="flash-promoter")
venue = Venue.objects.create(
    name="Flash Hall", slug="flash-hall", address="1 Rua Augusta", city="Lisbon", country="PT",
    latitude=Decimal("38.71"), longitude=Decimal("-9.14"), capacity=spec["capacity"],
)
starts = (timezone.now() + timedelta(days=14)).replace(minute=0, second=0, microsecond=0)
event = Event.objects.create(
    organizer=organizer, venue=venue, title="Flash Sale Night", slug="flash-sale-night",
    description="One ticket type, many buyers.", starts_at=starts, ends_at=starts + timedelta(hours=3),
    doors_at=starts - timedelta(hours=1), timezone="Europe/Lisbon", status=Event.Status.PUBLISHED,
)
def ticket_type(name):
    return TicketType.objects.create(
        event=event, name=name, price=Decimal(spec["price"]), fee=Decimal(spec["fee"]), currency="EUR",
        capacity=spec["capacity"], max_per_order=10,
    ).pk
main = ticket_type("General admission")
spare = ticket_type("Profile run")  # the in-process profile buys here, not from the measured one
password = make_password(spec["password"])  # one Argon2 hash for all: the set-up stays fast
users = User.objects.bulk_create(
    [User(email=f"buyer{n}@flash.example.com", full_name=f"Buyer {n}", password=password)
     for n in range(spec["buyers"])]
)
EmailAddress.objects.bulk_create(
    [EmailAddress(user=u, email=u.email, primary=True, verified=True) for u in users]
)
print("FLASH " + json.dumps({"ticket_type": main, "spare_ticket_type": spare,
                             "emails": [u.email for u in users]}))
"""


def setup_data(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    spec = {
        "capacity": args.capacity,
        "price": "25.00" if args.paid else "0.00",
        "fee": "2.50" if args.paid else "0.00",
        "buyers": args.buyers,
        "password": PASSWORD,
    }
    code = f"SPEC = {spec!r}\n{SETUP_CODE}"
    done = subprocess.run(  # noqa: S603 (our own manage.py, fixed code)
        [str(VENV_BIN / "python"), "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    for line in done.stdout.splitlines():
        if line.startswith("FLASH "):
            return dict(json.loads(line[len("FLASH ") :]))
    raise SystemExit(f"set-up printed no result:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def buyer_ip(n: int) -> str:
    return f"10.8.{n // 250}.{n % 250 + 1}"


def login_all(port: int, emails: list[str]) -> list[str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    tokens = []
    for n, email in enumerate(emails):
        conn.request(
            "POST",
            LOGIN,
            body=json.dumps({"email": email, "password": PASSWORD}),
            headers={"Content-Type": "application/json", IP_HEADER: buyer_ip(n)},
        )
        response = conn.getresponse()
        payload = response.read()
        if response.status != 200:
            raise SystemExit(f"login of {email} answered {response.status}: {payload[:500]!r}")
        tokens.append(json.loads(payload)["meta"]["session_token"])
        if response.will_close:
            conn.close()
    conn.close()
    return tokens


# --- The sale ---------------------------------------------------------------------------------------------


class _Buyer:
    """One buyer of the sale: its own connection, the order it asks next, and what it was answered."""

    def __init__(self, job: dict[str, Any], n: int, token: str) -> None:
        self.job = job
        self.rng = random.Random(job["seed"] * 1000 + n)  # noqa: S311
        self.head = (
            f"POST {ORDERS} HTTP/1.1\r\nHost: 127.0.0.1:{job['port']}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\nX-Session-Token: {token}\r\n{IP_HEADER}: {buyer_ip(n)}\r\n"
        ).encode()
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.records: list[tuple[float, float, str, str, int]] = []  # start, end, status, code, quantity
        self.sold_out = 0
        self.other_refusals = 0
        self.ask_next: int | None = None
        self.quantity = 0
        self.started = 0.0

    def done(self) -> bool:
        job = self.job
        return (
            self.sold_out >= job["stop_after"]
            or self.other_refusals >= job["stop_after"] * 10
            or time.monotonic() >= job["deadline"]
        )

    def request(self) -> bytes:
        self.quantity = self.ask_next or self.rng.randint(1, self.job["max_quantity"])
        self.ask_next = None
        body = b'{"lines": [{"ticket_type": %d, "quantity": %d}]}' % (self.job["ticket_type"], self.quantity)
        self.started = time.monotonic()
        return self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body

    def answer(self) -> bool | None:
        """Parse ``self.buffer``: None while the answer is incomplete, else whether the server keeps the
        connection open. Records the answer."""
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        head = self.buffer[:head_end].decode("latin-1").lower()
        length = 0
        for line in head.split("\r\n")[1:]:
            if line.startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        if len(self.buffer) < head_end + 4 + length:
            return None
        status = head.split(" ", 2)[1]
        payload = self.buffer[head_end + 4 : head_end + 4 + length]
        self.buffer = b""
        code = ""
        if status != "201":
            try:
                problem = json.loads(payload)
                code = str(problem.get("code", ""))
                available = problem.get("extra", problem).get("available")
            except (ValueError, AttributeError):
                code, available = "", None
            if code == "sold_out":
                self.sold_out += 1
                if isinstance(available, int) and available > 0:
                    self.ask_next = min(available, self.job["max_quantity"])
            else:
                self.other_refusals += 1
        self.records.append((self.started, time.monotonic(), status, code or status, self.quantity))
        return "connection: close" not in head

    def failed(self, error: OSError) -> None:
        self.records.append(
            (self.started, time.monotonic(), type(error).__name__, type(error).__name__, self.quantity)
        )
        self.other_refusals += 1
        self.buffer = b""


def _buyer_process(job: dict[str, Any]) -> dict[str, Any]:
    """The buyers of one process on one event loop (selectors, plain sockets, requests written by hand):
    a thread per buyer with ``http.client`` cost ~1 ms of CPU per order, taken from the server under test;
    this costs a fraction of that. Each buyer sends its next order as soon as it has its answer, over the
    same connection, or a new one when a sync worker closes it."""
    cpu_started = time.process_time()
    selector = selectors.DefaultSelector()
    buyers = [_Buyer(job, n, token) for n, token in job["buyers"]]

    def send(buyer: _Buyer) -> None:
        if buyer.done():
            if buyer.sock is not None:
                selector.unregister(buyer.sock)
                buyer.sock.close()
                buyer.sock = None
            return
        if buyer.sock is None:
            buyer.sock = socket.create_connection(("127.0.0.1", job["port"]), timeout=30)
            buyer.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            selector.register(buyer.sock, selectors.EVENT_READ, buyer)
        try:
            buyer.sock.sendall(buyer.request())
        except OSError as error:
            reconnect(buyer, error)

    def reconnect(buyer: _Buyer, error: OSError | None) -> None:
        if buyer.sock is not None:
            selector.unregister(buyer.sock)
            buyer.sock.close()
            buyer.sock = None
        if error is not None:
            buyer.failed(error)
        send(buyer)

    while time.monotonic() < job["start_at"]:
        time.sleep(0.001)
    for buyer in buyers:
        send(buyer)
    while selector.get_map():
        for key, _ in selector.select(timeout=1.0):
            buyer = key.data
            try:
                chunk = buyer.sock.recv(65536)
            except OSError as error:
                reconnect(buyer, error)
                continue
            if not chunk:
                reconnect(buyer, ConnectionResetError("closed before the answer"))
                continue
            buyer.buffer += chunk
            keep_alive = buyer.answer()
            if keep_alive is None:
                continue
            if keep_alive:
                send(buyer)
            else:
                reconnect(buyer, None)
    results = [
        {"buyer": n, "records": buyer.records} for (n, _), buyer in zip(job["buyers"], buyers, strict=True)
    ]
    return {"results": results, "cpu_s": time.process_time() - cpu_started}


def sale(args: argparse.Namespace, port: int, ticket_type: int, tokens: list[str]) -> dict[str, Any]:
    processes = max(1, min(args.client_processes, len(tokens)))
    start_at = time.monotonic() + 1.0  # every process forked and every thread waiting
    numbered = list(enumerate(tokens))
    jobs = [
        {
            "port": port,
            "ticket_type": ticket_type,
            "buyers": numbered[p::processes],
            "start_at": start_at,
            "deadline": start_at + args.deadline,
            "stop_after": args.stop_after,
            "max_quantity": args.max_quantity,
            "seed": args.seed,
        }
        for p in range(processes)
    ]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        per_process = pool.map(_buyer_process, jobs)
    records = [r for done in per_process for buyer in done["results"] for r in buyer["records"]]
    if not records:
        raise SystemExit("no request was made")
    first = min(r[0] for r in records)
    last = max(r[1] for r in records)
    wall = max(last - first, 1e-9)
    accepted = [r for r in records if r[2] == "201"]
    refused = [r for r in records if r[2] != "201"]
    return {
        "wall_s": round(wall, 3),
        "requests": len(records),
        "accepted": len(accepted),
        "seats_accepted": sum(r[4] for r in accepted),
        "orders_per_s": round(len(accepted) / wall, 1),
        "requests_per_s": round(len(records) / wall, 1),
        "accepted_p50_ms": percentile([(r[1] - r[0]) * 1000 for r in accepted], 50),
        "accepted_p99_ms": percentile([(r[1] - r[0]) * 1000 for r in accepted], 99),
        "refused": len(refused),
        "refused_p50_ms": percentile([(r[1] - r[0]) * 1000 for r in refused], 50),
        "refused_p99_ms": percentile([(r[1] - r[0]) * 1000 for r in refused], 99),
        "refused_by_code": dict(sorted(Counter(r[3] for r in refused).items())),
        "status": dict(sorted(Counter(r[2] for r in records).items())),
        "status_5xx": sum(1 for r in records if r[2].startswith("5")),
        "connection_errors": sum(1 for r in records if not r[2].isdigit()),
        # The sold-out moment: when the last accepted order came back, from the first request.
        "sold_out_after_s": round(max((r[1] for r in accepted), default=first) - first, 3),
        "clients_cpu_s": round(sum(done["cpu_s"] for done in per_process), 2),
    }


# --- The machine's reference: the same writes without Django -----------------------------------------------

# The issue's yardstick ("a bare pgbench transaction doing the same writes peaks near 1,500/s on one hot
# row"), measured in every run: this machine's speed moves by 2x and more between days, and orders/s alone
# cannot say whether the code or the machine changed. Tables shaped like a free order's rows (the columns
# that carry indexes and constraints), one hot seats row, and one transaction per order with a free order's
# statements in its order: read the ticket type, INSERT the order, its line, two audit rows, 1-2 tickets,
# the guarded UPDATE of the seats, the outbox row and the inbox row, COMMIT.
REFERENCE_SETUP = """
CREATE TABLE bench_ref_seats (id int PRIMARY KEY, capacity int NOT NULL, sold int NOT NULL, held int NOT NULL,
    price numeric(10, 2) NOT NULL);
INSERT INTO bench_ref_seats VALUES (1, 2000000000, 0, 0, 0);
CREATE TABLE bench_ref_order (id bigserial PRIMARY KEY, code varchar(16) UNIQUE NOT NULL,
    created timestamptz NOT NULL, status varchar(20) NOT NULL, total numeric(10, 2) NOT NULL);
CREATE TABLE bench_ref_line (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES bench_ref_order,
    seats_id int NOT NULL REFERENCES bench_ref_seats, quantity int NOT NULL,
    unit_price numeric(10, 2) NOT NULL);
CREATE TABLE bench_ref_event (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES bench_ref_order,
    created timestamptz NOT NULL, to_status varchar(20) NOT NULL);
CREATE TABLE bench_ref_ticket (id bigserial PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES bench_ref_order, line_id bigint NOT NULL REFERENCES bench_ref_line,
    secret varchar(64) UNIQUE NOT NULL);
CREATE TABLE bench_ref_outbox (id bigserial PRIMARY KEY, reference varchar(100) NOT NULL,
    "to" varchar(254) NOT NULL, context jsonb NOT NULL, UNIQUE (reference, "to"));
CREATE TABLE bench_ref_notification (id bigserial PRIMARY KEY, reference varchar(100) UNIQUE NOT NULL,
    title varchar(200) NOT NULL);
CREATE INDEX ON bench_ref_line (order_id);
CREATE INDEX ON bench_ref_event (order_id);
CREATE INDEX ON bench_ref_ticket (order_id);
CREATE INDEX ON bench_ref_ticket (line_id);
"""
REFERENCE_TABLES = (
    "bench_ref_notification, bench_ref_outbox, bench_ref_ticket, bench_ref_event, bench_ref_line, "
    "bench_ref_order, bench_ref_seats"
)
REFERENCE_ORDER = r"""\set q random(1, 2)
BEGIN;
SELECT id, capacity, sold, held, price FROM bench_ref_seats WHERE id = 1;
INSERT INTO bench_ref_order (code, created, status, total)
    VALUES (substr(md5(random()::text), 1, 16), now(), 'paid', 0) RETURNING id AS order_id \gset
INSERT INTO bench_ref_line (order_id, seats_id, quantity, unit_price) VALUES (:order_id, 1, :q, 0)
    RETURNING id AS line_id \gset
INSERT INTO bench_ref_event (order_id, created, to_status)
    VALUES (:order_id, now(), 'pending'), (:order_id, now(), 'paid');
INSERT INTO bench_ref_ticket (order_id, line_id, secret)
    SELECT :order_id, :line_id, md5(random()::text) || n FROM generate_series(1, :q) AS n;
UPDATE bench_ref_seats SET sold = sold + :q WHERE id = 1 AND capacity >= sold + held + :q;
INSERT INTO bench_ref_outbox (reference, "to", context)
    VALUES ('order:' || :order_id, 'buyer@example.com', '{}') ON CONFLICT DO NOTHING RETURNING id;
INSERT INTO bench_ref_notification (reference, title) VALUES ('order:' || :order_id, 'Your tickets')
    ON CONFLICT DO NOTHING RETURNING id;
COMMIT;
"""


def python_reference_ms() -> float:
    """CPU milliseconds of a fixed pure-Python loop (dict stores, string formatting, calls): the web
    workers' kind of work, to tell a slow machine from slow code. Best of three."""

    def work() -> float:
        started = time.process_time()
        table: dict[int, str] = {}
        for n in range(300_000):
            table[n % 1000] = f"{n}:{n % 7}"
        return (time.process_time() - started) * 1000

    return round(min(work() for _ in range(3)), 1)


# pgbench's connections, whatever the number of gunicorn workers: every reference in bench/README.md was
# taken with 4, and the same machine gives ~30 % fewer transactions/s with 2; a fixed count keeps runs
# comparable.
REFERENCE_CLIENTS = 4


def machine_reference(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """pgbench running a free order's writes as bare SQL for ``--reference-seconds`` on
    ``REFERENCE_CLIENTS`` connections, in the benchmark's database (its tables are dropped afterwards), and
    the Python loop above. Run on the idle machine just before the sale."""
    result: dict[str, Any] = {"python_loop_ms": python_reference_ms()}
    pgbench = shutil.which("pgbench")
    if pgbench is None or args.reference_seconds <= 0:
        return {**result, "pgbench_tps": None}
    script = workdir / "reference_order.sql"
    script.write_text(REFERENCE_ORDER)
    with psycopg.connect(f"{args.pg} dbname={args.database}", autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {REFERENCE_TABLES}")
        conn.execute(REFERENCE_SETUP)
    params = dict(part.split("=", 1) for part in args.pg.split())
    try:
        done = subprocess.run(  # noqa: S603 (PostgreSQL's own pgbench, fixed arguments)
            [
                pgbench,
                "--no-vacuum",
                "--protocol=prepared",
                f"--file={script}",
                f"--client={REFERENCE_CLIENTS}",
                f"--jobs={min(REFERENCE_CLIENTS, os.cpu_count() or 1)}",
                f"--time={args.reference_seconds}",
                f"--host={params.get('host', '127.0.0.1')}",
                f"--port={params.get('port', '5432')}",
                f"--username={params.get('user', 'postgres')}",
                args.database,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        with psycopg.connect(f"{args.pg} dbname={args.database}", autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {REFERENCE_TABLES}")
    tps = next((line for line in done.stdout.splitlines() if line.startswith("tps = ")), None)
    if done.returncode != 0 or tps is None:
        raise SystemExit(f"pgbench failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return {**result, "pgbench_tps": round(float(tps.split()[2]), 1), "pgbench_clients": REFERENCE_CLIENTS}


# --- CPU accounting: what one order costs, whatever else the machine is doing -------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (Linux /proc), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15 of stat)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
    return found


def cpu_snapshot(args: argparse.Namespace, gunicorn_pid: int) -> dict[str, dict[int, float]]:
    """CPU seconds so far of the gunicorn workers and of the PostgreSQL backends serving our database."""
    with psycopg.connect(f"{args.pg} dbname={args.database}") as conn:
        backends = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [args.database],
            ).fetchall()
        ]
    return {
        "server": {pid: _cpu_seconds(pid) for pid in [gunicorn_pid, *_children(gunicorn_pid)]},
        "postgres": {pid: _cpu_seconds(pid) for pid in backends},
    }


def cpu_per_order(
    before: dict[str, dict[int, float]], after: dict[str, dict[int, float]], clients_s: float, orders: int
) -> dict[str, Any]:
    """CPU milliseconds per accepted order, by party, and the orders/s two idle cores would allow."""
    spent = {
        party: sum(seconds - before[party].get(pid, 0.0) for pid, seconds in after[party].items())
        for party in ("server", "postgres")
    }
    spent["clients"] = clients_s
    per_order = {party: round(seconds / max(orders, 1) * 1000, 2) for party, seconds in spent.items()}
    total = sum(per_order.values())
    return {
        "cpu_ms_per_order": {**per_order, "total": round(total, 2)},
        # 2 cores' worth of CPU seconds per second, divided by what one order takes: the ceiling on an idle
        # machine (a load-independent figure; orders_per_s is what this run got).
        "cpu_bound_orders_per_s": round((os.cpu_count() or 1) * 1000 / total, 1) if total else None,
    }


def database_counts(args: argparse.Namespace, ticket_type: int) -> dict[str, Any]:
    with psycopg.connect(f"{args.pg} dbname={args.database}") as conn:
        capacity, sold, held = conn.execute(
            "SELECT capacity, sold, held FROM events_tickettype WHERE id = %s", [ticket_type]
        ).fetchone() or (0, 0, 0)
        tickets = conn.execute(
            "SELECT count(*) FROM orders_ticket WHERE ticket_type_id = %s", [ticket_type]
        ).fetchone()
        statuses = dict(
            conn.execute(
                "SELECT o.status, count(DISTINCT o.id) FROM orders_order o "
                "JOIN orders_orderline l ON l.order_id = o.id WHERE l.ticket_type_id = %s GROUP BY o.status",
                [ticket_type],
            ).fetchall()
        )
    return {
        "capacity": capacity,
        "sold": sold,
        "held": held,
        "oversold": max(0, sold + held - capacity),
        "tickets_issued": tickets[0] if tickets else 0,
        "orders_by_status": statuses,
    }


def inventory_audit(env: dict[str, str]) -> bool:
    done = subprocess.run(  # noqa: S603 (our own manage.py, fixed arguments)
        [str(VENV_BIN / "python"), "manage.py", "inventory_audit"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    log(f"inventory_audit exit {done.returncode}: {(done.stdout + done.stderr).strip()[-300:]}")
    return done.returncode == 0


# --- In-process profile -----------------------------------------------------------------------------------


def _in_process_buyer() -> tuple[Any, int]:
    """Django set up in this process, and a test client signed in as the profile's buyer
    (``FLASH_PROFILE_SPEC`` names the spare ticket type and the buyer). Returns the client and the ticket
    type."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.test import Client

    spec = json.loads(os.environ["FLASH_PROFILE_SPEC"])
    host = {"HTTP_HOST": "127.0.0.1", "HTTP_X_REAL_IP": "10.9.0.1"}
    login = Client(**host).post(
        LOGIN, json.dumps({"email": spec["email"], "password": PASSWORD}), content_type="application/json"
    )
    if login.status_code != 200:
        raise SystemExit(f"profile: login answered {login.status_code}: {login.content[:300]!r}")
    return Client(**host, HTTP_X_SESSION_TOKEN=login.json()["meta"]["session_token"]), int(
        spec["ticket_type"]
    )


def _order_body(ticket_type: int, quantity: int = 1) -> str:
    return json.dumps({"lines": [{"ticket_type": ticket_type, "quantity": quantity}]})


def profile_child(args: argparse.Namespace) -> int:
    """Runs in its own process with the site's environment: ``--profile-orders`` API calls in one process."""
    import cProfile
    import io
    import pstats

    client, ticket_type = _in_process_buyer()
    from django.db import connection

    from events.models import TicketType

    spec = json.loads(os.environ["FLASH_PROFILE_SPEC"])
    body = _order_body(ticket_type)

    sql: dict[str, Any] = {"count": 0, "seconds": 0.0, "by_kind": Counter()}

    def timed(execute: Any, query: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(query, params, many, context)
        finally:
            sql["count"] += 1
            sql["seconds"] += time.perf_counter() - started
            sql["by_kind"][query.split(None, 1)[0].upper()] += 1

    def order() -> None:
        response = client.post(ORDERS, body, content_type="application/json")
        if response.status_code != 201:
            raise SystemExit(f"profile: order answered {response.status_code}: {response.content[:300]!r}")

    for _ in range(20):  # warm-up: connection, caches, imports
        order()
    n = args.profile_orders
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(n // 2):  # without the profiler first: the real cost of one order in one process
        order()
    plain_ms = (time.perf_counter() - started) / (n // 2) * 1000
    plain_cpu_ms = (time.process_time() - cpu_started) / (n // 2) * 1000
    profiler = cProfile.Profile()
    with connection.execute_wrapper(timed):
        started = time.perf_counter()
        profiler.enable()
        for _ in range(n):
            order()
        profiler.disable()
        total = time.perf_counter() - started
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("cumulative").print_stats(45)
    (Path(spec["out"]) / "profile.txt").write_text(stream.getvalue())
    stats.dump_stats(str(Path(spec["out"]) / "profile.pstats"))

    # Queries of one order, by statement (what the request does, in order).
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        order()
    statements = [q["sql"][:140] for q in captured.captured_queries]
    tt = TicketType.objects.get(pk=ticket_type)
    # Profiling inflates Python time (compare ms_per_order_unprofiled); SQL time is the client-side wall time
    # of each statement (round trip included), measured under the profiler.
    result = {
        "orders": n,
        "ms_per_order_unprofiled": round(plain_ms, 2),
        "cpu_ms_per_order_unprofiled": round(plain_cpu_ms, 2),  # this process only: not PostgreSQL's
        "ms_per_order_profiled": round(total / n * 1000, 2),
        "queries_per_order": round(sql["count"] / n, 1),
        "sql_ms_per_order": round(sql["seconds"] / n * 1000, 2),
        "python_ms_per_order": round((total - sql["seconds"]) / n * 1000, 2),
        "queries_by_kind_per_order": {k: round(v / n, 1) for k, v in sorted(sql["by_kind"].items())},
        "statements_of_one_order": statements,
        "sold_after": tt.sold,
    }
    print("PROFILE " + json.dumps(result), flush=True)
    return 0


def run_profile(
    args: argparse.Namespace, env: dict[str, str], data: dict[str, Any], out: Path
) -> dict[str, Any]:
    child_env = {
        **env,
        "FLASH_PROFILE_SPEC": json.dumps(
            {"ticket_type": data["spare_ticket_type"], "email": data["emails"][0], "out": str(out)}
        ),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(  # noqa: S603 (this script, fixed arguments)
        [str(VENV_BIN / "python"), __file__, "--profile-child", f"--profile-orders={args.profile_orders}"],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("PROFILE "):
            result = dict(json.loads(line[len("PROFILE ") :]))
            log("profile (top functions by cumulative time):\n" + (out / "profile.txt").read_text()[:6000])
            return result
    raise SystemExit(f"profile run failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")


# --- Where the server's CPU goes under load (py-spy) ----------------------------------------------------

# Parts of a request: a sample counts for the first part one of its frames matches, from the innermost frame
# out, so a SQL statement the order service runs counts as SQL and not as the service. A part is matched by
# a function's name (its start) or by its file (the receivers of ``order_paid`` live in ``receivers.py``).
SAMPLE_PARTS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("SQL (psycopg, the ORM's execute)", ("CursorWrapper.execute", "CursorWrapper.executemany"), ()),
    ("cache (Redis)", ("DefaultClient.", "RedisCache."), ()),
    ("the confirmation (order_paid receivers)", (), ("/receivers.py:",)),
    ("the order service", ("order_create_or_replay",), ()),
    ("authentication", ("APIView.perform_authentication",), ()),
    ("the view: DRF's parsing and validation, the transaction, the 201", ("APIView.dispatch",), ()),
    ("middleware and URL resolving", ("BaseHandler.get_response",), ()),
    ("WSGI and gunicorn's HTTP parsing", ("SyncWorker.handle", "ThreadWorker.handle"), ()),
)


def _sample_part(frame: str) -> str | None:
    function, _, where = frame.partition(" (")
    for name, functions, files in SAMPLE_PARTS:
        if function.startswith(functions) or any(file in where for file in files):
            return name
    return None


def sampler_start(master_pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling the gunicorn workers (children of ``master_pid``) until ``sampler_stop``: only samples
    that hold the GIL, i.e. CPU spent in Python and in the C code it calls. Needs ptrace rights (root, or
    ``kernel.yama.ptrace_scope=0``)."""
    spy = shutil.which("py-spy", path=str(VENV_BIN)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--sample needs py-spy (make dev-venv installs it)")
    command = [spy, "record", "--pid", str(master_pid), "--subprocesses", "--gil", "--nonblocking"]
    command += ["--rate", "250", "--format", "raw", "--output", str(out / "py-spy.txt")]
    sampler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    time.sleep(1.0)  # py-spy attaches to the master and finds its workers
    return sampler


def sampler_stop(sampler: subprocess.Popen[bytes], out: Path) -> dict[str, Any]:
    """Stop py-spy (SIGINT: it writes what it sampled) and sum its stacks into ``SAMPLE_PARTS`` and the top
    functions by inclusive share. The raw stacks go with the run's temporary folder."""
    sampler.send_signal(signal.SIGINT)
    try:
        _, errors = sampler.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        sampler.kill()
        _, errors = sampler.communicate()
    raw = out / "py-spy.txt"
    if not raw.exists():
        raise SystemExit(f"py-spy wrote nothing: {errors.decode(errors='replace')[-1000:]}")
    return summarize_samples(raw.read_text().splitlines())


def summarize_samples(lines: list[str], top: int = 25) -> dict[str, Any]:
    """Shares of the workers' samples (py-spy's raw format: ``frame;frame;... count``, outermost first): by
    part, and the functions under Django's WSGI handler by inclusive share (counted once a stack)."""
    total = 0
    parts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in lines:
        stack, _, count = line.rpartition(" ")
        frames = [frame for frame in stack.split(";") if not frame.startswith("process ")]
        if not any(frame.startswith("SyncWorker.") or frame.startswith("ThreadWorker.") for frame in frames):
            continue  # the arbiter, not a request
        n = int(count)
        total += n
        functions = [frame.split(" (", 1)[0] for frame in frames]
        if "WSGIHandler.__call__" in functions:  # the functions inside Django's handler, each once a stack
            for function in set(functions[functions.index("WSGIHandler.__call__") + 1 :]):
                inclusive[function] += n
        part = next(filter(None, map(_sample_part, reversed(frames))), "the worker's loop (accept, close)")
        parts[part] += n
    if not total:
        raise SystemExit("py-spy sampled no request: did the workers serve the sale?")
    return {
        "samples": total,
        "parts": {name: round(n / total, 3) for name, n in parts.most_common()},
        "top_inclusive": [[round(n / total, 3), name] for name, n in inclusive.most_common(top)],
    }


# --- Instruction counts (callgrind) ----------------------------------------------------------------------

INSTRUCTION_PHASES = {"order": 201, "refused_request": 400}
# A web process asks for the outbox relay once a second, whatever the number of orders (free mode: each
# queues an email). Under valgrind a call takes over a second, so each would ask: the window is made longer
# than the run to count what an order costs at speed.
COUNTING_ENV = {"NOTIFICATIONS_RELAY_DELAY_SECONDS": "3600"}


def count_phases(
    call: Callable[[str], None], pids: Callable[[], list[int]], n: int, *, settle: Callable[[], None]
) -> None:
    """Warm up with 20 calls of each kind (connection, caches, imports, compiled statements), then count
    ``n`` calls of each phase in the callgrind processes ``pids()``: one dump per phase, named after it
    (``_callgrind_dumps`` reads them). ``settle`` runs before each phase's count."""
    control = shutil.which("callgrind_control") or "callgrind_control"

    def callgrind(*options: str) -> None:
        for pid in pids():
            subprocess.run(  # noqa: S603 (valgrind's own control tool, fixed arguments)
                [control, *options, str(pid)], check=True, capture_output=True
            )

    for phase in INSTRUCTION_PHASES:
        for _ in range(20):
            call(phase)
    for phase in INSTRUCTION_PHASES:
        settle()
        callgrind("--instr=on")
        for _ in range(n):
            call(phase)
        callgrind(f"--dump={phase}")  # writes this phase's counts and zeroes them
        callgrind("--instr=off")


def instructions_child(args: argparse.Namespace) -> int:
    """Runs under ``valgrind --tool=callgrind --instr-atstart=no``: counts only the API calls themselves,
    ``--instructions-orders`` orders (201) and as many refused requests (quantity 0: 400 after
    authentication and validation, the cost every API request pays before any business logic)."""
    client, ticket_type = _in_process_buyer()
    bodies = {"order": _order_body(ticket_type), "refused_request": _order_body(ticket_type, quantity=0)}

    def call(phase: str) -> None:
        response = client.post(ORDERS, bodies[phase], content_type="application/json")
        if response.status_code != INSTRUCTION_PHASES[phase]:
            raise SystemExit(f"{phase} answered {response.status_code}: {response.content[:300]!r}")

    def settle() -> None:
        # A whole-heap collection (here one every ~1,500 orders, ~100 ms) landing in one phase and not in
        # another would swamp the difference being measured: start each phase with a collected, frozen heap.
        # The young generations' collections, which the calls' own allocations drive, are still counted.
        gc.collect()
        gc.freeze()

    count_phases(call, lambda: [os.getpid()], args.instructions_orders, settle=settle)
    return 0


def run_instructions(
    args: argparse.Namespace, env: dict[str, str], data: dict[str, Any], out: Path
) -> dict[str, Any]:
    """Instructions per API call, counted by callgrind: unlike CPU time they do not move with the machine's
    load, so two versions of the code compare to ~0.1 % (bench/README.md). PostgreSQL's work is not in it."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    child_env = {
        **env,
        "FLASH_PROFILE_SPEC": json.dumps(
            {"ticket_type": data["spare_ticket_type"], "email": data["emails"][0]}
        ),
        "PYTHONPATH": str(ROOT),
        **COUNTING_ENV,
    }
    n = args.instructions_orders
    done = subprocess.run(  # noqa: S603 (valgrind running this script, fixed arguments)
        [
            valgrind,
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out / 'callgrind.out'}",
            str(VENV_BIN / "python"),
            __file__,
            "--instructions-child",
            f"--instructions-orders={n}",
        ],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        check=False,
    )
    counts = _callgrind_dumps(out)
    if done.returncode != 0 or set(counts) != set(INSTRUCTION_PHASES):
        raise SystemExit(f"instruction count failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    per_call = {phase: round(count / n) for phase, count in counts.items()}
    return {
        "calls_per_phase": n,
        "per_order": per_call["order"],
        "per_refused_request": per_call["refused_request"],
        # What the request stack (WSGI handler, middleware, authentication, DRF, validation, error body)
        # costs on its own, as a share of a whole order.
        "refused_request_share_of_order": round(per_call["refused_request"] / per_call["order"], 3),
    }


def run_instructions_both(
    args: argparse.Namespace, env: dict[str, str], data: dict[str, Any], out: Path
) -> dict[str, Any]:
    """``run_instructions`` (test client, one process) and ``run_instructions_server`` (a gunicorn worker),
    each with its own folder of dumps."""
    in_process, server = out / "callgrind-in-process", out / "callgrind-server"
    in_process.mkdir()
    server.mkdir()
    counted = run_instructions(args, env, data, in_process)
    return {**counted, **run_instructions_server(args, env, data, server)}


def _callgrind_dumps(out: Path) -> dict[str, int]:
    """Instructions per phase over the callgrind dumps in ``out`` (a phase's name ends its dump's trigger;
    dumps of one phase from several processes add up)."""
    counts: Counter[str] = Counter()
    for dump in out.glob("callgrind.out.*"):
        lines = dump.read_text().splitlines()
        trigger = next(line for line in lines if line.startswith("desc: Trigger:"))
        if trigger.startswith("desc: Trigger: Program termination"):
            continue
        total = next(line for line in lines if line.startswith("totals:"))
        counts[trigger.rsplit(" ", 1)[-1]] += int(total.split()[1])
    return dict(counts)


def run_instructions_server(
    args: argparse.Namespace, env: dict[str, str], data: dict[str, Any], out: Path
) -> dict[str, int]:
    """The same two kinds of API call, counted in a gunicorn worker (one sync worker under callgrind, real
    HTTP over loopback) rather than through the test client: what production pays, with gunicorn's HTTP
    parsing, the WSGI request, the connection health check and the signals a test client leaves out. The
    worker is fresh, as in the sale: ``--instructions-orders`` calls of each kind after 20 of warm-up."""
    valgrind = shutil.which("valgrind") or "valgrind"
    port = free_port()
    logfile = out / "gunicorn-callgrind.log"
    server_env = {**env, **COUNTING_ENV}
    wrapper = [
        valgrind,
        "--tool=callgrind",
        "--trace-children=yes",  # the arbiter forks the worker
        "--instr-atstart=no",
        f"--callgrind-out-file={out / 'callgrind.out.server.%p'}",
    ]
    one_worker = argparse.Namespace(**{**vars(args), "workers": 1, "worker_class": "sync"})
    # A request under valgrind takes a good part of a second: a long timeout for the arbiter's patience.
    server = gunicorn_start(one_worker, server_env, port, logfile, wrapper=wrapper, timeout=600)
    try:
        gunicorn_wait(server, port, logfile, timeout=600)
        token = login_all(port, [data["emails"][1]])[0]
        bodies = {
            "order": _order_body(data["spare_ticket_type"]).encode(),
            "refused_request": _order_body(data["spare_ticket_type"], quantity=0).encode(),
        }
        headers = {"Content-Type": "application/json", "X-Session-Token": token, IP_HEADER: buyer_ip(1)}

        def call(phase: str) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            conn.request("POST", ORDERS, body=bodies[phase], headers=headers)
            response = conn.getresponse()
            payload = response.read()
            conn.close()
            if response.status != INSTRUCTION_PHASES[phase]:
                raise SystemExit(f"server {phase} answered {response.status}: {payload[:300]!r}")

        # The worker's heap is left as the sale finds it (frozen at start-up by grasshopper.wsgi).
        count_phases(
            call, lambda: [server.pid, *_children(server.pid)], args.instructions_orders, settle=lambda: None
        )
    finally:
        gunicorn_stop(server)
    counts = _callgrind_dumps(out)
    if set(counts) != set(INSTRUCTION_PHASES):
        raise SystemExit(f"server instruction count failed: {counts}\n{logfile.read_text()[-3000:]}")
    return {f"server_per_{phase}": round(count / args.instructions_orders) for phase, count in counts.items()}


# --- Main -------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.profile_child:
        return profile_child(args)
    if args.instructions_child:
        return instructions_child(args)
    # The in-process runs buy from a spare ticket type of --capacity seats: the profile's 1.5 x n orders plus
    # its warm-up and statement capture, the instruction count's n orders plus its warm-up.
    spare_seats = (args.profile_orders * 2 + 20 if args.profile else 0) + (
        2 * (args.instructions_orders + 20) if args.instructions else 0
    )
    if args.capacity < spare_seats:
        raise SystemExit(f"--profile/--instructions need --capacity of at least {spare_seats}")
    env = site_env(args)
    report: dict[str, Any] = {
        "bench": "flashsale",
        "mode": "paid: priced ticket type, orders stay pending with seats held"
        if args.paid
        else "free: price 0, orders paid at once and tickets issued",
        "cpu_count": os.cpu_count(),
        "load_avg_before": [round(x, 2) for x in os.getloadavg()],
        "buyers": args.buyers,
        "client_processes": args.client_processes,
        "gunicorn": {
            "workers": args.workers,
            "worker_class": args.worker_class,
            "threads": args.threads if args.worker_class == "gthread" else 1,
            "preload": args.preload,
        },
    }
    cache = redis.Redis.from_url(args.redis_url)
    gunicorn: subprocess.Popen[bytes] | None = None
    workdir = Path(tempfile.mkdtemp(prefix="gh-flash-"))
    try:
        log(f"creating database {args.database}")
        started = time.monotonic()
        database_from_migrated_template(args, env)
        cache.flushdb()  # our own db 8
        data = setup_data(args, env)
        ticket_type = data["ticket_type"]
        report["setup_s"] = round(time.monotonic() - started, 2)
        log(f"migrated and set up in {report['setup_s']} s: ticket type {ticket_type}, {args.buyers} buyers")
        report["reference"] = machine_reference(args, workdir)
        log(
            f"machine reference: pgbench {report['reference']['pgbench_tps']} order transactions/s, "
            f"Python loop {report['reference']['python_loop_ms']} ms"
        )

        port = free_port()
        logfile = workdir / "gunicorn.log"
        gunicorn = gunicorn_start(args, env, port, logfile)
        gunicorn_wait(gunicorn, port, logfile)
        log(f"gunicorn on 127.0.0.1:{port}: {args.workers} {args.worker_class} workers")
        started = time.monotonic()
        tokens = login_all(port, data["emails"])
        log(f"{len(tokens)} buyers signed in in {time.monotonic() - started:.1f} s; the sale starts")

        sampler = sampler_start(gunicorn.pid, workdir) if args.sample else None
        cpu_before = cpu_snapshot(args, gunicorn.pid)
        report.update(sale(args, port, ticket_type, tokens))
        if sampler is not None:  # py-spy slows the workers: this run's orders/s is not comparable
            report["samples"] = sampler_stop(sampler, workdir)
            parts = report["samples"]["parts"].items()
            log("where the workers' CPU went (py-spy):\n  " + "\n  ".join(f"{v:6.1%}  {k}" for k, v in parts))
        report.update(
            cpu_per_order(
                cpu_before, cpu_snapshot(args, gunicorn.pid), report["clients_cpu_s"], report["accepted"]
            )
        )
        report["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
        report.update(database_counts(args, ticket_type))
        log(
            f"{report['orders_per_s']} orders/s, {report['requests_per_s']} req/s, accepted "
            f"{report['accepted']} (p50 {report['accepted_p50_ms']} ms), "
            f"refused {report['refused_by_code']}, "
            f"sold {report['sold']} held {report['held']} of {report['capacity']}"
        )
        server_log = logfile.read_text().strip().splitlines()
        report["server_log_lines"] = len(server_log)
        if server_log:
            log("gunicorn log (last lines):\n  " + "\n  ".join(server_log[-5:]))
        gunicorn_stop(gunicorn)
        gunicorn = None
        report["inventory_audit_ok"] = inventory_audit(env)
        if args.profile:
            report["profile"] = run_profile(args, env, data, workdir)
        if args.instructions:
            report["instructions"] = run_instructions_both(args, env, data, workdir)
        report["targets"] = {
            f"orders_per_s>={TARGET_ORDERS_PER_S}": report["orders_per_s"] >= TARGET_ORDERS_PER_S,
            "oversold==0": report["oversold"] == 0,
            "5xx==0": report["status_5xx"] == 0,
            "inventory_audit_ok": report["inventory_audit_ok"],
        }
    finally:
        if gunicorn is not None:
            gunicorn_stop(gunicorn)
        cache.flushdb()
        if args.keep:
            log(f"kept database {args.database}")
        else:
            database_recreate(args, drop_only=True)
            log(f"dropped database {args.database}")
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
