"""Facts the loyalty app announces (received in notifications' ``receivers.py``: notifications sits above
loyalty, so loyalty never imports it).

Sent INSIDE the transaction that made the change, after it is written; receivers with side effects (email,
inbox) wrap them in ``transaction.on_commit``.

- ``tier_changed`` (kwargs ``user``, ``old``, ``new``: tier names "bronze" / "silver" / "gold"): the user's
  tier went up or down (points earned, reversed or expired, or earnings left the 12-month window).
- ``referral_rewarded`` (kwargs ``referral``): both sides of a referral got their reward (sent by
  ``loyalty.services_referrals``).
- ``points_expiring`` (kwargs ``notice``: a ``loyalty.models.ExpiryNotice`` with its ``user``): some of the
  user's points expire within ``LOYALTY_EXPIRY_WARNING_DAYS`` (sent once per batch by
  ``loyalty.services.points_expiry_warn_due``).
"""

from django.dispatch import Signal

tier_changed = Signal()
referral_rewarded = Signal()
points_expiring = Signal()
