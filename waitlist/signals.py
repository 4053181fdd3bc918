"""Facts the waitlist announces (received in higher apps' ``receivers.py``, e.g. notifications).

All are sent INSIDE the transaction that made the change, after it is written; receivers with side
effects (email, inbox, Celery tasks) must wrap them in ``transaction.on_commit``.

- ``entry_joined`` (kwargs ``entry``): someone asked to join. A guest's entry is ``unverified``: send them
  the confirmation link (``waitlist.signing.entry_token_make(entry=entry, purpose=VERIFY)``). Sent again
  when a guest asks to join again before confirming (the link is re-sent).
- ``entry_verified`` (kwargs ``entry``): a guest confirmed their email; the entry is now in line.
- ``offer_created`` (kwargs ``offer``): seats are held for ``offer.entry`` in ``offer.order`` (pending,
  expiring at ``offer.expires_at``): tell them, with a link straight to the order's checkout.
- ``offer_lapsed`` (kwargs ``offer``): the offer's hold expired unpaid; its seats went to the next entry.
- ``offer_declined`` (kwargs ``offer``): the entrant declined (or left the line with a live offer).
- ``offer_accepted`` (kwargs ``offer``): the offer's order was paid (``order_paid`` already announced it).
- ``entry_closed`` (kwargs ``entry``): the event was cancelled and the entry, which was in line (waiting, or
  with an offer, now withdrawn: its order was cancelled), is ``closed``. Not sent for a guest who never
  confirmed their email.
"""

from django.dispatch import Signal

entry_joined = Signal()
entry_verified = Signal()
offer_created = Signal()
offer_lapsed = Signal()
offer_declined = Signal()
offer_accepted = Signal()
entry_closed = Signal()
