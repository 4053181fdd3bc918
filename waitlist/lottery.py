"""The lottery draw as a pure function, so a recorded draw can be replayed by anyone from its seed."""

from __future__ import annotations

import random


def lottery_shuffle(*, entry_ids: list[int], seed: int) -> list[int]:
    """``entry_ids`` ascending, shuffled by ``random.Random(seed)``: the same seed and ids always give the
    same order. Not for secrecy (the seed is recorded on purpose); the seed itself comes from ``secrets``."""
    drawn = sorted(entry_ids)
    random.Random(seed).shuffle(drawn)  # noqa: S311  # nosec B311
    return drawn
