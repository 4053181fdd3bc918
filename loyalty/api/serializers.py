"""Output and input serializers of the loyalty API: shapes only (the rules live in ``loyalty.services``).
Decimals travel as strings, times as ISO 8601 in UTC."""

from __future__ import annotations

from rest_framework import serializers

from loyalty import tiers
from loyalty.models import LedgerEntry

MAX_POINTS = 2_147_483_647  # LedgerEntry.points is 32-bit


class NextExpiryOutputSerializer(serializers.Serializer):
    points = serializers.IntegerField(help_text="Unspent points that expire first (those of the same day).")
    expires_at = serializers.DateTimeField()
    soon = serializers.BooleanField(help_text="Within `LOYALTY_EXPIRY_WARNING_DAYS`: worth a reminder.")


class LoyaltySummaryOutputSerializer(serializers.Serializer):
    balance = serializers.IntegerField(
        help_text="Points you have: the sum of your transactions. Below zero only after a refund took back "
        "points already spent; nothing can be redeemed until it is above zero again."
    )
    tier = serializers.ChoiceField(choices=[(t, tiers.LABELS[t]) for t in tiers.TIERS])
    tier_points = serializers.IntegerField(
        help_text="Points earned in the last 12 months: they set the tier."
    )
    next_tier = serializers.ChoiceField(
        choices=[(t, tiers.LABELS[t]) for t in tiers.TIERS[1:]], allow_null=True, help_text="Null at the top."
    )
    points_to_next_tier = serializers.IntegerField()
    earn_multiplier = serializers.FloatField(help_text="The tier's earning multiplier.")
    next_expiry = NextExpiryOutputSerializer(allow_null=True, help_text="Null when nothing is due to expire.")
    referral_code = serializers.CharField(
        help_text="Empty until the account has moved points or been shared."
    )
    point_value = serializers.DecimalField(
        max_digits=12, decimal_places=4, help_text="What one point takes off an order, in its currency."
    )
    redeem_max_share = serializers.DecimalField(
        max_digits=4, decimal_places=2, help_text="The largest share of an order's total points may pay."
    )


class TransactionOutputSerializer(serializers.ModelSerializer):
    """One movement of points: ``earn``, ``redeem``, ``redeem_return``, ``reverse``, ``expire``, ``referral``,
    ``adjust``. ``source`` names its cause (``order:<code>``, ``order:<code>:refund:<id>``, ``expire:<id>``
    …); ``description`` says it in words."""

    class Meta:
        model = LedgerEntry
        fields = ["id", "points", "kind", "source", "description", "created", "expires_at"]
        read_only_fields = fields
        extra_kwargs = {
            "points": {"help_text": "Positive: added; negative: taken away."},
            "expires_at": {"help_text": "Added points: when the unspent ones expire. Null otherwise."},
        }


class RedeemPointsInputSerializer(serializers.Serializer):
    points = serializers.IntegerField(
        min_value=0,
        max_value=MAX_POINTS,
        help_text="How many points to use on this order (replacing any used before); 0 takes them off.",
    )
