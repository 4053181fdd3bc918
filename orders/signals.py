"""Facts the orders app announces (received in higher apps' ``receivers.py``).

All are sent INSIDE the transaction that made the change, after it is written: a receiver that writes
rows (loyalty points, waitlist) commits or rolls back with the order, and a receiver with side effects
(email, Celery tasks) must wrap them in ``transaction.on_commit``.

- ``order_paid`` (kwargs ``order``, ``born_paid``): the order moved to ``paid`` and its tickets exist.
  ``born_paid`` is True for an order created paid in this very transaction (a free order): nothing else
  can refer to it yet, and its lines and tickets are in memory (``orders.selectors.order_rows_in_memory``).
- ``order_unfulfillable`` (kwargs ``order``): money arrived for an order whose seats are gone
  (``paid_unfulfillable``, no tickets); it is refunded automatically or queued for staff.
- ``order_expired`` (kwargs ``order``): a pending order's hold lapsed, its seats were released.
- ``order_cancelled`` (kwargs ``order``): a pending order was cancelled (by the buyer or staff).
- ``payment_failed`` (kwargs ``order``, ``payment``): a card payment was declined; the order stays pending.
- ``order_refunded`` (kwargs ``order``, ``refund``): money was given back (``refund.amount``); the tickets
  it names are void and their seats returned. Sent once per refund.
- ``refund_failed`` (kwargs ``order``, ``refund``): the provider could not return the money.
- ``order_total_changed`` (kwargs ``order``): a pending order's total changed (an adjustment was added or
  removed); payment attempts for the old amount are closed.
"""

from django.dispatch import Signal

order_paid = Signal()
order_unfulfillable = Signal()
order_expired = Signal()
order_cancelled = Signal()
payment_failed = Signal()
order_refunded = Signal()
refund_failed = Signal()
order_total_changed = Signal()
