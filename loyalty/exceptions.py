"""Errors the loyalty services raise, each with a stable snake_case ``code`` and the HTTP status the API
answers."""

from grasshopper.lib.exceptions import ApplicationError, Conflict, NotFound


class PointsInvalid(ApplicationError):
    code = "points_invalid"
    status = 400
    default_message = "Enter a whole number of points."


class PointsInsufficient(Conflict):
    """More points than the balance (``extra["balance"]``)."""

    code = "points_insufficient"
    default_message = "You do not have that many points."


class PointsOverLimit(ApplicationError):
    """More points than this order may take (``extra["max_points"]``: the share of the total cap, or the
    balance if lower)."""

    code = "points_over_limit"
    status = 400
    default_message = "Points can pay for at most part of this order."


class PointsBalanceNegative(Conflict):
    """A refund took back points already spent: nothing can be redeemed until the balance recovers."""

    code = "points_balance_negative"
    default_message = "Your points balance is below zero after a refund, so points cannot be used right now."


class RedemptionOrderInvalid(NotFound):
    """Not the user's order (or a guest order): points only pay the signed-in buyer's own orders."""

    code = "order_not_found"
    default_message = "No such order."


class AdjustReasonRequired(ApplicationError):
    code = "reason_required"
    status = 400
    default_message = "Say why the points are adjusted."


# --- Membership ("Grasshopper Plus", loyalty.services_membership) ---


class MembershipAlreadyActive(Conflict):
    """The user is a member already: a second subscription would charge them twice."""

    code = "membership_already_active"
    default_message = "You are already a Grasshopper Plus member."


class MembershipNotActive(Conflict):
    """There is no running membership to cancel or keep."""

    code = "membership_not_active"
    default_message = "You have no running Grasshopper Plus membership."


class MembershipAlreadyCancelling(Conflict):
    code = "membership_already_cancelling"
    default_message = "Your membership is already set to end at the end of the paid period."


class MembershipNotCancelling(Conflict):
    code = "membership_not_cancelling"
    default_message = "Your membership renews as usual: there is no cancellation to undo."


# --- Referrals (loyalty.services_referrals) ---


class ReferralDiscountInUse(Conflict):
    """The welcome discount is already on another pending order of the user (``extra["order"]``)."""

    code = "referral_discount_in_use"
    default_message = "Your welcome discount is already on another order: remove it there, or pay that order."
