"""The ``Idempotency-Key`` header of ``POST /api/v1/orders/`` (DESIGN.md §2.3: a mobile client retrying a
``POST`` with the same key gets the same order).

The API layer only reads and checks the header and fingerprints the body; remembering keys is the
order's own job (``Order.idempotency_key`` + ``request_fingerprint``, unique per buyer in the database),
done by ``orders.services.order_create``:

- same buyer + key + fingerprint: the existing order comes back (the view answers 200 and
  ``Idempotent-Replayed: true``);
- same buyer + key, another fingerprint: ``idempotency_key_reused`` (422).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from rest_framework.request import Request

from grasshopper.lib.exceptions import ApplicationError

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_LENGTH = 255
# Printable ASCII only (space to tilde), 1 to 255 characters: what Stripe and the IETF draft accept.
_KEY_PATTERN = re.compile(rf"[\x20-\x7e]{{1,{MAX_LENGTH}}}")


class IdempotencyKeyInvalid(ApplicationError):
    code = "idempotency_key_invalid"
    status = 400
    default_message = f"{HEADER} must be 1 to {MAX_LENGTH} printable ASCII characters."


def idempotency_key_from_request(request: Request) -> str:
    """The request's ``Idempotency-Key``, or ``""`` when it sent none.

    A header that is present but empty, too long or not printable ASCII is refused rather than ignored:
    a client that meant to be safe against retries must learn that it is not.
    """
    if HEADER not in request.headers:
        return ""
    key = request.headers[HEADER]
    if not _KEY_PATTERN.fullmatch(key):
        raise IdempotencyKeyInvalid()
    return key


def request_fingerprint(data: Any) -> str:
    """SHA-256 of the body as canonical JSON (sorted keys, no whitespace): the same order sent twice,
    whatever the key order or spacing, has the same fingerprint."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
