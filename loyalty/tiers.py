"""Tiers: Bronze, Silver, Gold, from the points earned in the trailing 12 months (thresholds and earning
multipliers in settings: ``LOYALTY_TIER_THRESHOLDS``, ``LOYALTY_TIER_MULTIPLIERS``). Pure functions."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

BRONZE, SILVER, GOLD = "bronze", "silver", "gold"
TIERS = (BRONZE, SILVER, GOLD)  # lowest first
LABELS = {BRONZE: "Bronze", SILVER: "Silver", GOLD: "Gold"}


def threshold(tier: str) -> int:
    """Points earned in 12 months from which ``tier`` applies (bronze: 0)."""
    if tier == BRONZE:
        return 0
    return int(settings.LOYALTY_TIER_THRESHOLDS[tier])


def tier_for(points: int) -> str:
    """The highest tier whose threshold ``points`` reaches."""
    reached = BRONZE
    for tier in TIERS[1:]:
        if points >= threshold(tier):
            reached = tier
    return reached


def multiplier(tier: str) -> float:
    return float(settings.LOYALTY_TIER_MULTIPLIERS.get(tier, 1.0))


@dataclass(frozen=True)
class TierProgress:
    """Where a user stands: ``tier``, the points that count (earned in 12 months), the next tier (``None``
    at the top), how many points it still takes and the share of the way there (0-100)."""

    tier: str
    points: int
    next_tier: str | None
    points_to_next: int
    percent: int

    @property
    def label(self) -> str:
        return LABELS[self.tier]

    @property
    def next_label(self) -> str:
        return LABELS[self.next_tier] if self.next_tier else ""

    @property
    def multiplier(self) -> float:
        return multiplier(self.tier)


def progress(points: int) -> TierProgress:
    tier = tier_for(points)
    index = TIERS.index(tier)
    if index == len(TIERS) - 1:
        return TierProgress(tier=tier, points=points, next_tier=None, points_to_next=0, percent=100)
    nxt = TIERS[index + 1]
    low, high = threshold(tier), threshold(nxt)
    percent = int(100 * (points - low) / (high - low)) if high > low else 100
    return TierProgress(
        tier=tier,
        points=points,
        next_tier=nxt,
        points_to_next=max(high - points, 0),
        percent=min(max(percent, 0), 100),
    )


def add_months(when: datetime, months: int) -> datetime:
    """``when`` plus ``months`` calendar months (the 31st becomes the month's last day)."""
    month0 = when.month - 1 + months
    year, month = when.year + month0 // 12, month0 % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)
