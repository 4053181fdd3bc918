"""Catalogue read benchmark: the event list, event pages and search under 16 concurrent clients.

    make bench-catalogue                     # or: .venv/bin/python bench/catalogue.py [options]

1. creates the PostgreSQL database ``grasshopper_bench`` (dropping a previous one), migrates it and seeds
   it with ``manage.py seed_demo --events 10000 --artists 5000 --no-sales`` (timed; catalogue only);
2. starts gunicorn with production settings (DEBUG off, JSON logs at WARNING, Redis db 9 as the cache)
   on a free port of 127.0.0.1 and waits for ``/healthz``;
3. for each page, drives ``--clients`` keep-alive HTTP clients (threads spread over a few processes,
   ``http.client``) for ``--warmup`` seconds unmeasured, then ``--duration`` seconds measured:
   the event list ``/events/``, event pages ``/events/<slug>/`` (rotating over 1,000 published events) and
   search ``/events/?q=<term>`` (rotating over artist names, cities, genres, unaccented and misspelt terms);
4. prints ONE JSON line on stdout (progress goes to stderr): requests/s, p50/p95/p99 latency in ms, error
   count and status codes per page, and whether the targets hold (event page >= 600 requests/s, search
   p95 < 50 ms);
5. stops gunicorn, flushes Redis db 9 and drops the database (unless ``--keep``).

Loopback only, bounded in time (about (warm-up + duration) x pages + set-up) and in requests
(``--max-requests`` per page). The clients share the machine's cores with gunicorn and PostgreSQL: on a
small machine they take a noticeable share of the CPU, so the figures are a floor. See bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import psycopg
import redis
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
TARGET_EVENT_PAGE_RPS = 600
TARGET_SEARCH_P95_MS = 50
DEFAULT_PAGES = {
    "event_list": "/events/",
    "event_page": "/events/{slug}/",
    "search": "/events/?q={q}",
}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--artists", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--clients", type=int, default=16, help="concurrent keep-alive clients")
    parser.add_argument(
        "--client-processes", type=int, default=4, help="processes the clients are spread over"
    )
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per page")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds per page, first")
    parser.add_argument("--max-requests", type=int, default=200_000, help="upper bound per page")
    # Measured on 2 cores (bench/README.md, "gunicorn"): one gthread worker per core, 4 threads each, beat
    # 2 x cores + 1 workers by a quarter on the event page and halved search's p95.
    parser.add_argument("--workers", type=int, default=cores, help="gunicorn workers (one per core)")
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="gthread")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument(
        "--preload",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="load the application before forking the workers (gunicorn --preload; measured: no change)",
    )
    parser.add_argument(
        "--paths",
        help="comma-separated name=path pairs (or bare paths) instead of the three catalogue pages; "
        "{slug} and {q} rotate over event slugs and search terms, e.g. --paths /,/healthz",
    )
    parser.add_argument(
        "--database", default="grasshopper_bench", help="PostgreSQL database (created, dropped)"
    )
    parser.add_argument(
        "--pg", default="host=127.0.0.1 port=5432 user=postgres", help="libpq connection string"
    )
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/9", help="cache of the benchmarked site"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database (and its seed) afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="use a kept database as it is (no drop, no seed)"
    )
    return parser.parse_args(argv)


# --- Database ---------------------------------------------------------------------------------------------


def database_url(args: argparse.Namespace) -> str:
    params = dict(part.split("=", 1) for part in args.pg.split())
    user = params.get("user", "postgres")
    password = f":{params['password']}" if "password" in params else ""
    return (
        f"postgres://{user}{password}@{params.get('host', '127.0.0.1')}:{params.get('port', '5432')}/"
        f"{args.database}"
    )


def database_exists(args: argparse.Namespace) -> bool:
    with psycopg.connect(f"{args.pg} dbname=postgres", autocommit=True) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.database]).fetchone()
            is not None
        )


def database_recreate(args: argparse.Namespace, *, drop_only: bool = False) -> None:
    with psycopg.connect(f"{args.pg} dbname=postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(args.database)))
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(args.database)))


# Production settings refuse to start without Stripe keys (orders.checks); the benchmarks never call Stripe,
# so well-formed test-mode keys that lead nowhere are enough.
STRIPE_ENV = {
    "STRIPE_SECRET_KEY": "sk_test_" + "BenchmarkNeverCallsStripe0000",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_" + "BenchmarkNeverCallsStripe0000",
}


def manage(env: dict[str, str], *command: str) -> float:
    started = time.monotonic()
    # The seed's progress lines go to our stderr, keeping stdout for the one JSON line.
    subprocess.run(  # noqa: S603 (our own manage.py, fixed arguments)
        [str(VENV_BIN / "python"), "manage.py", *command], cwd=ROOT, env=env, check=True, stdout=sys.stderr
    )
    return round(time.monotonic() - started, 2)


def pick_targets(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """1,000 published event slugs and a few hundred search terms, chosen the same way every run."""
    rng = random.Random(args.seed)  # noqa: S311
    with psycopg.connect(f"{args.pg} dbname={args.database}") as conn:
        slugs = [row[0] for row in conn.execute("SELECT slug FROM events_event WHERE status = 'published'")]
        artists = [row[0] for row in conn.execute("SELECT name FROM events_artist")]
        cities = [row[0] for row in conn.execute("SELECT DISTINCT city FROM events_venue")]
        genres = [row[0] for row in conn.execute("SELECT name FROM events_genre")]
    slugs.sort()
    rng.shuffle(slugs)

    def unaccent(text: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))

    def misspell(text: str) -> str:
        # Drop or swap one letter in the middle: "berlin" -> "berln", "quetzal" -> "qeutzal".
        word = text.lower()
        if len(word) < 5:
            return word
        i = rng.randrange(1, len(word) - 2)
        if rng.random() < 0.5:
            return word[:i] + word[i + 1 :]
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]

    sample = rng.sample(sorted(artists), k=min(200, len(artists)))
    accented = [name for name in artists if unaccent(name) != name][:20]
    terms = (
        sample[:100]  # full artist names
        + [name.split()[-1] for name in sample[100:150]]  # one word of a name
        + [unaccent(name).lower() for name in accented]  # "cafe quetzal" finds "Café Quetzal"
        + [misspell(name) for name in sample[150:200]]  # typos
        + cities
        + [misspell(city) for city in cities]
        + genres
        + [f"{rng.choice(genres)} {rng.choice(cities)}" for _ in range(20)]  # "jazz lisbon"
    )
    rng.shuffle(terms)
    return slugs[:1000], terms


# --- gunicorn -----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gunicorn_start(
    args: argparse.Namespace,
    env: dict[str, str],
    port: int,
    logfile: Path,
    *,
    wrapper: Sequence[str] = (),
    timeout: int = 30,
) -> subprocess.Popen[bytes]:
    """gunicorn serving the site on ``port``, in its own session (``gunicorn_stop`` ends it and its
    workers). ``wrapper``: a command that runs it (valgrind, for bench/flashsale.py's instruction count);
    ``timeout``: seconds before the arbiter kills a silent worker."""
    command = [
        *wrapper,
        str(VENV_BIN / "python"),
        str(VENV_BIN / "gunicorn"),
        "grasshopper.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--log-level",
        "warning",
        "--error-logfile",
        "-",
        "--timeout",
        str(timeout),
        "--graceful-timeout",
        "5",
        "--keep-alive",
        "5",
    ]
    if args.worker_class == "gthread":
        command += ["--threads", str(args.threads)]
    if args.preload:
        command.append("--preload")
    with logfile.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 (our gunicorn, fixed arguments)
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def gunicorn_wait(process: subprocess.Popen[bytes], port: int, logfile: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}:\n{logfile.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(
        f"gunicorn did not answer /healthz within {timeout:.0f} s:\n{logfile.read_text()[-3000:]}"
    )


def gunicorn_stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # the arbiter stops its workers
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: the arbiter and its workers only
        process.wait(timeout=5)


# --- Load ---------------------------------------------------------------------------------------------------


def _client_thread(
    port: int,
    paths: list[str],
    offset: int,
    measure_from: float,
    stop_at: float,
    max_requests: int,
    latencies: list[float],
    statuses: Counter[str],
    lock: threading.Lock,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    own: list[float] = []
    own_statuses: Counter[str] = Counter()
    i = offset
    while len(own) < max_requests:
        path = paths[i % len(paths)]
        i += 1
        started = time.monotonic()
        if started >= stop_at:
            break
        try:
            conn.request("GET", path, headers={"Accept": "text/html"})
            response = conn.getresponse()
            response.read()
            status = str(response.status)
            if response.will_close:
                conn.close()  # reopened by the next request (sync workers close after each response)
        except (OSError, http.client.HTTPException) as error:
            status = type(error).__name__
            conn.close()
        elapsed = time.monotonic() - started
        if started >= measure_from:
            own.append(elapsed * 1000)
            own_statuses[status] += 1
    conn.close()
    with lock:
        latencies.extend(own)
        statuses.update(own_statuses)


def _client_process(job: dict[str, Any]) -> tuple[list[float], dict[str, int]]:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    threads = [
        threading.Thread(
            target=_client_thread,
            args=(
                job["port"],
                job["paths"],
                offset,
                job["measure_from"],
                job["stop_at"],
                job["max_per_thread"],
                latencies,
                statuses,
                lock,
            ),
        )
        for offset in job["offsets"]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, dict(statuses)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return round(ordered[index], 1)


def drive(args: argparse.Namespace, port: int, paths: list[str]) -> dict[str, Any]:
    """``--clients`` clients over ``paths`` (rotating, each from its own offset) for warm-up + duration."""
    start = time.monotonic() + 0.5  # time for the processes to start
    measure_from = start + args.warmup
    stop_at = measure_from + args.duration
    processes = max(1, min(args.client_processes, args.clients))
    stride = max(1, len(paths) // args.clients)
    offsets = [client * stride for client in range(args.clients)]
    jobs = [
        {
            "port": port,
            "paths": paths,
            "offsets": offsets[p::processes],
            "measure_from": measure_from,
            "stop_at": stop_at,
            "max_per_thread": max(1, args.max_requests // args.clients),
        }
        for p in range(processes)
    ]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        results = pool.map(_client_process, jobs)
    latencies = [ms for result in results for ms in result[0]]
    statuses: Counter[str] = Counter()
    for _, counts in results:
        statuses.update(counts)
    ok = statuses.get("200", 0)
    return {
        "requests": len(latencies),
        "rps": round(ok / args.duration, 1),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "errors": len(latencies) - ok,
        "status": dict(sorted(statuses.items())),
    }


def expand(template: str, slugs: list[str], terms: list[str]) -> list[str]:
    if "{slug}" in template:
        return [template.replace("{slug}", slug) for slug in slugs]
    if "{q}" in template:
        return [template.replace("{q}", quote_plus(term)) for term in terms]
    return [template]


def page_templates(args: argparse.Namespace) -> dict[str, str]:
    if not args.paths:
        return dict(DEFAULT_PAGES)
    pages = {}
    for item in args.paths.split(","):
        name, separator, path = item.partition("=")
        if not separator or name.startswith("/"):  # a bare path (which may hold "=", as in "?q=")
            name, path = item, item
        pages[name] = path
    return pages


# --- Main ---------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_"))},
        "DJANGO_SETTINGS_MODULE": "grasshopper.settings.base",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url(args),
        "REDIS_URL": args.redis_url,
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        # No collectstatic here: the pages are measured, not the static files (see README).
        "DJANGO_STATIC_MANIFEST": "false",
        **STRIPE_ENV,
        "LOG_FORMAT": "json",
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        # whitenoise warns once per worker that STATIC_ROOT does not exist (no collectstatic, see above).
        "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
    }
    report: dict[str, Any] = {
        "bench": "catalogue",
        "events": args.events,
        "artists": args.artists,
        "cpu_count": os.cpu_count(),
        "clients": args.clients,
        "client_processes": args.client_processes,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "gunicorn": {
            "workers": args.workers,
            "worker_class": args.worker_class,
            "threads": args.threads if args.worker_class == "gthread" else 1,
            "preload": args.preload,
        },
    }
    cache = redis.Redis.from_url(args.redis_url)
    gunicorn: subprocess.Popen[bytes] | None = None
    workdir = Path(tempfile.mkdtemp(prefix="gh-bench-"))
    reused = args.reuse and database_exists(args)
    try:
        if reused:
            log(f"reusing database {args.database} as it is")
        else:
            log(f"creating database {args.database}")
            database_recreate(args)
            report["migrate_s"] = manage(env, "migrate", "--noinput", "-v0")
            log(f"migrated in {report['migrate_s']} s; seeding {args.events} events, {args.artists} artists")
            report["seed_s"] = manage(
                env,
                "seed_demo",
                "--force",
                # The catalogue only: its 3.7 million planned tickets, as paid orders, take minutes to write;
                # these pages read counters, not orders (so every ticket type shows as on sale).
                "--no-sales",
                f"--events={args.events}",
                f"--artists={args.artists}",
                f"--seed={args.seed}",
            )
            log(f"seeded in {report['seed_s']} s")
            with psycopg.connect(f"{args.pg} dbname={args.database}", autocommit=True) as conn:
                conn.execute("VACUUM (ANALYZE)")  # a settled database: statistics and visibility map
        cache.flushdb()  # our own db 9: no page cached by a previous run
        slugs, terms = pick_targets(args)
        if not slugs:
            raise SystemExit("no published events to request: is the database seeded?")

        port = free_port()
        logfile = workdir / "gunicorn.log"
        gunicorn = gunicorn_start(args, env, port, logfile)
        gunicorn_wait(gunicorn, port, logfile)
        log(f"gunicorn on 127.0.0.1:{port}: {args.workers} {args.worker_class} workers")

        report["pages"] = {}
        for name, template in page_templates(args).items():
            paths = expand(template, slugs, terms)
            log(f"{name}: {template} ({len(paths)} URLs), {args.warmup:g} s warm-up + {args.duration:g} s")
            result = drive(args, port, paths)
            report["pages"][name] = {"path": template, **result}
            log(
                f"  {result['rps']} req/s, p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
                f"errors {result['errors']}"
            )
        pages = report["pages"]
        if "event_page" in pages:
            report.setdefault("targets", {})[f"event_page_rps>={TARGET_EVENT_PAGE_RPS}"] = (
                pages["event_page"]["rps"] >= TARGET_EVENT_PAGE_RPS and pages["event_page"]["errors"] == 0
            )
        if "search" in pages:
            report.setdefault("targets", {})[f"search_p95<{TARGET_SEARCH_P95_MS}ms"] = (
                pages["search"]["p95_ms"] < TARGET_SEARCH_P95_MS and pages["search"]["errors"] == 0
            )
        server_log = logfile.read_text().strip().splitlines()
        report["server_log_lines"] = len(server_log)  # WARNING and above: should be none or few
        if server_log:
            log("gunicorn log (last lines):\n  " + "\n  ".join(server_log[-5:]))
    finally:
        if gunicorn is not None:
            gunicorn_stop(gunicorn)
        cache.flushdb()
        if args.keep or reused:
            log(f"kept database {args.database} (reuse it with --reuse)")
        else:
            database_recreate(args, drop_only=True)
            log(f"dropped database {args.database}")
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
