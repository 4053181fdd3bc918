"""Facts the orders app announces (received in higher apps' ``receivers.py``).

Both are sent INSIDE the transaction that made the change, after it is written: a receiver that writes
rows (loyalty points, waitlist) commits or rolls back with the order, and a receiver with side effects
(email, Celery tasks) must wrap them in ``transaction.on_commit``.

- ``order_paid`` (kwargs ``order``): the order moved to ``paid`` and its tickets exist.
- ``order_unfulfillable`` (kwargs ``order``): money arrived for an order whose seats are gone
  (``paid_unfulfillable``, no tickets); the payment issue refunds it.
"""

from django.dispatch import Signal

order_paid = Signal()
order_unfulfillable = Signal()
