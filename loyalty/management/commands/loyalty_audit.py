"""``manage.py loyalty_audit``: check the points ledger against what is kept beside it (cached balances,
unspent counters). Prints each problem and exits 1 when there is any, 0 when all is consistent."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand

from loyalty.selectors import ledger_audit


class Command(BaseCommand):
    help = "Check every loyalty balance against the sum of its ledger rows; exit 1 on any drift."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = ledger_audit()
        for problem in problems:
            self.stderr.write(f"DRIFT {problem}")
        if problems:
            self.stderr.write(f"{len(problems)} problem(s) found.")
            sys.exit(1)
        self.stdout.write("Loyalty ledger consistent: every balance is the sum of its rows.")
