"""Facts the catalogue announces to higher apps (received in their ``receivers.py``).

``inventory_released`` (kwargs ``ticket_type_id: int``, ``quantity: int``): seats went back on sale
(a hold released, a sold seat returned). Sent INSIDE the releasing transaction, so the waitlist's receiver
can turn the freed seats into offer holds before any public buyer sees them (DESIGN.md section 7);
receivers must push side effects (emails) to ``transaction.on_commit``.
"""

from django.dispatch import Signal

inventory_released = Signal()
