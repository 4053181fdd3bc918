"""Errors the orders services raise, each with a stable snake_case ``code`` and the HTTP status the API
answers. ``SoldOut`` and ``TicketTypeUnknown`` come from the catalogue (the inventory raises them) and are
re-exported here so callers catch every order error from one module."""

from events.exceptions import SoldOut, TicketTypeUnknown
from grasshopper.lib.exceptions import ApplicationError, Conflict

__all__ = [
    "AdjustmentInvalid",
    "HoldExpired",
    "HoldExtensionUsed",
    "HolderNamesInvalid",
    "HolderNamesLocked",
    "IdempotencyKeyReused",
    "IllegalTransition",
    "MaxPerOrderExceeded",
    "MixedCurrencies",
    "MixedEvents",
    "OrderNotAdjustable",
    "OrderNotCancellable",
    "OrderNotRefundable",
    "PaymentDeclined",
    "PaymentNotNeeded",
    "PaymentProviderError",
    "PaymentProviderUnknown",
    "QuantityInvalid",
    "RefundExceedsPayment",
    "SalesClosed",
    "SoldOut",
    "TicketTypeUnknown",
]


class QuantityInvalid(ApplicationError):
    code = "quantity_invalid"
    status = 400
    default_message = "Choose at least one ticket."


class MaxPerOrderExceeded(ApplicationError):
    code = "max_per_order_exceeded"
    status = 400
    default_message = "Too many tickets of this type in one order."


class MixedEvents(ApplicationError):
    code = "mixed_events"
    status = 400
    default_message = "One order buys tickets for one event."


class MixedCurrencies(ApplicationError):
    code = "mixed_currencies"
    status = 400
    default_message = "One order is paid in one currency."


class SalesClosed(Conflict):
    code = "sales_closed"
    default_message = "Tickets of this type are not on sale."


class IdempotencyKeyReused(ApplicationError):
    code = "idempotency_key_reused"
    status = 422
    default_message = "This Idempotency-Key was already used for a different request."


class IllegalTransition(Conflict):
    code = "illegal_transition"
    default_message = "The order cannot move to this status."


class OrderNotCancellable(Conflict):
    code = "order_not_cancellable"
    default_message = "Only an unpaid order can be cancelled here."


class HoldExtensionUsed(Conflict):
    code = "hold_extension_used"
    default_message = "The hold on this order was already extended once."


class HoldNotExtendable(Conflict):
    code = "hold_not_extendable"
    default_message = "The hold on this order cannot be extended."


class HoldExpired(Conflict):
    code = "hold_expired"
    default_message = "The hold on this order has expired."


class PaymentProviderUnknown(ApplicationError):
    code = "payment_provider_unknown"
    status = 400
    default_message = "Unknown payment provider."


class HolderNamesInvalid(ApplicationError):
    code = "holder_names_invalid"
    status = 400
    default_message = "Give at most one name per ticket, each at most 150 characters."


class HolderNamesLocked(Conflict):
    code = "holder_names_locked"
    default_message = "Names can be changed only on a pending or paid order."


class PaymentProviderError(ApplicationError):
    """Stripe could not be reached or refused the request (``extra["stripe_code"]`` says why)."""

    code = "payment_provider_error"
    status = 502
    default_message = "The payment provider could not be reached. Please try again in a moment."


class PaymentDeclined(ApplicationError):
    """The card was declined; the message is Stripe's, meant for the buyer."""

    code = "payment_declined"
    status = 402
    default_message = "Your card was declined."


class PaymentNotNeeded(Conflict):
    """Paying makes no sense for this order: it is free, already paid, or no longer pending."""

    code = "payment_not_needed"
    default_message = "This order has nothing left to pay."


class OrderNotRefundable(Conflict):
    """Nothing of this order can be refunded (not paid, nothing paid by card, already refunded, or a
    ticket that is not this order's or already void)."""

    code = "order_not_refundable"
    default_message = "This order cannot be refunded."


class RefundExceedsPayment(Conflict):
    """The refund is more than what is left of the payment (``extra["refundable"]``)."""

    code = "refund_exceeds_payment"
    default_message = "This refund is more than what is left to refund on this order."


# --- Adjustments (discounts added by higher apps: loyalty points, referral rewards) ---------------------


class OrderNotAdjustable(Conflict):
    """Discounts can be added or removed only while the order is pending and its hold runs."""

    code = "order_not_adjustable"
    default_message = "Discounts can only be changed on an order that is waiting for payment."


class AdjustmentInvalid(ApplicationError):
    """The discount is not a positive amount, or nothing of the order is left to discount."""

    code = "adjustment_invalid"
    status = 400
    default_message = "This discount cannot be applied to this order."
