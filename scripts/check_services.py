"""Tell, in one clear line each, whether the PostgreSQL and Redis that `make test` needs are answering."""

import argparse
import sys

import psycopg
import redis

START_HINTS = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": (
        'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no '
        "--dir /var/lib/redis --logfile /var/log/redis/ci.log"
    ),
}


def check_postgres(url: str) -> str | None:
    # Connect to the server's maintenance database: the test database itself is created by pytest-django.
    maintenance = url.rsplit("/", 1)[0] + "/postgres"
    try:
        with psycopg.connect(maintenance, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]
    return None


def check_redis(url: str) -> str | None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except redis.RedisError as exc:
        return str(exc)
    return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--redis", required=True)
    args = parser.parse_args()
    failed = False
    for name, error in (("PostgreSQL", check_postgres(args.database)), ("Redis", check_redis(args.redis))):
        if error:
            failed = True
            print(f"{name} is not answering ({error}). Start it with: {START_HINTS[name]}", file=sys.stderr)
    if not failed:
        print("PostgreSQL and Redis are answering.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
