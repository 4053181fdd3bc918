"""Telling people things: the email outbox and the inbox, written in the same transaction as the fact that
causes them, and the jobs that send, retry, re-queue and fan out.

How an email is sent exactly once (as far as email allows):

- ``notify`` writes one ``OutboxEmail`` row in the CALLER's transaction (unique per kind, reference and
  recipient: whoever announces a fact twice, it emails once); after commit (``transaction.on_commit``: a
  rolled-back order sends nothing) the row reaches a send task through the relay (below).
- The relay: publishing a Celery task costs a web process ~3.5 million CPU instructions, a fifth of a free
  order (``bench/flashsale.py --instructions``), and in an on-sale rush every order queues an email. So a
  web process asks for at most one ``outbox_relay`` task per ``NOTIFICATIONS_RELAY_DELAY_SECONDS`` (1 s),
  with that countdown; the relay hands every queued row no task was asked for yet to ``outbox_send``, one
  task each, marking it ``dispatched_at`` under ``FOR UPDATE SKIP LOCKED`` (relays at once never hand a row
  twice). Where tasks run eagerly (development, tests) or the delay is 0, each row gets its task at once.
- ``outbox_send`` claims the row with a conditional UPDATE (queued -> sending); only the claimer sends, so a
  task delivered twice (``acks_late`` redelivers after a worker loss) sends once. Transient errors
  (connection lost, 4xx from the SMTP server, 5xx/429 from the provider) put it back to queued and the task
  retries with exponential backoff; after ``NOTIFICATIONS_EMAIL_MAX_ATTEMPTS`` attempts, or on a permanent
  error, the row is ``failed`` with the error, and staff can resend it (``outbox_resend``).
- ``outbox_requeue_stale`` (beat, every minute) hands rows claimed but not finished for
  ``NOTIFICATIONS_OUTBOX_STALE_SECONDS`` (the worker died) back to a worker, and re-sends the task for rows
  queued that long (the task never reached the broker). One case no SMTP client can rule out remains: a
  worker that dies after the server accepted the message and before the row says ``sent`` sends it again
  on re-queue; every copy carries the same ``Message-ID`` (``outbox-<id>``), which mail clients fold.

Messages to every ticket holder of an event (changed, cancelled) are ``Broadcast`` jobs: a row written with
the change, worked through by a task in order-id order, with its progress on the row and in
``grasshopper.lib.progress`` (the event admin shows it).
"""

from __future__ import annotations

import smtplib
import time
from datetime import datetime, timedelta
from typing import Any

import structlog
from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
from django.conf import settings
from django.db import transaction
from django.db.models import Case, CharField, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone

from accounts.models import User
from events.models import Event
from events.signals import holder_notices_progress_key
from grasshopper.lib.db import insert_unless_exists, on_commit_robust
from grasshopper.lib.exceptions import Conflict
from grasshopper.lib.progress import progress_set
from notifications import kinds
from notifications.emails import email_build
from notifications.models import Broadcast, Notification, OutboxEmail, Preference
from orders.models import Order, Refund, Ticket

log = structlog.get_logger(__name__)

Status = OutboxEmail.Status
BATCH = 200  # orders per transaction in a broadcast; also the most a beat sweep handles per run (x 2.5)


class OutboxNotResendable(Conflict):
    code = "outbox_not_resendable"
    default_message = "Only a failed email can be sent again."


class EmailTransientError(Exception):
    """Sending failed for a reason that may pass (the task retries with backoff)."""


# An order's messages are about "orders.Order:<code>" (written in SQL too, by the sweeps below).
ORDER_REFERENCE_PREFIX = "orders.Order:"


def order_reference(order: Order) -> str:
    return f"{ORDER_REFERENCE_PREFIX}{order.code}"


# --- notify -------------------------------------------------------------------------------------------------


@transaction.atomic(savepoint=False)  # the caller's transaction: whatever fails here fails the fact too
def notify(
    *,
    kind: str,
    reference: str,
    user: User | None = None,
    email: str | None = None,
    context: dict[str, Any] | None = None,
    link: str = "",
    title: str = "",
    body: str = "",
    loaded: kinds.Context | None = None,
) -> OutboxEmail | None:
    """Tell ``user`` (inbox) and ``email`` (or the user's address) about ``reference`` with a message of
    ``kind``, in the caller's transaction. Returns the outbox row (None when no email is due).

    - The email: one ``OutboxEmail`` per (kind, reference, address): a second call is a no-op. A marketing
      kind is only emailed to a user who has not switched marketing email off (never to a guest: a guest
      has no preference to switch off). Sent by a task after the caller's transaction commits.
    - The inbox: with ``user``, one ``Notification`` per (user, kind, reference); ``title``, ``body`` and the
      site-relative ``link`` default to the kind's.
    ``context`` holds ids (e.g. ``{"order_id": 1}``) the kind's loader turns into the template context;
    ``loaded`` is that template context when the caller already has its rows in memory (a new order), so
    the inbox's title and body cost no query. Each row is one ``INSERT ... ON CONFLICT DO NOTHING``.
    """
    spec = kinds.get(kind)
    context = context or {}
    content: kinds.Context = dict(loaded or {})

    def load() -> kinds.Context:
        if not content:
            content.update(spec.load(context))
        return content

    outbox = None
    to = (email or (user.email if user is not None else "") or "").strip()
    if to and _may_email(kind=spec, user=user):
        outbox = OutboxEmail(kind=kind, reference=reference, to=to, user=user, context=context)
        if insert_unless_exists(outbox):
            on_commit_robust(_email_queued, outbox.pk)
        else:
            outbox = OutboxEmail.objects.get(kind=kind, reference=reference, to=to)
    if user is not None:
        insert_unless_exists(
            Notification(
                user=user,
                kind=kind,
                reference=reference,
                title=(title or spec.title(load()))[:200],
                body=body or spec.body(load()),
                link=(link or spec.link(load(), False))[:500],
            )
        )
    return outbox


def order_notify(
    *,
    kind: str,
    order: Order,
    reference: str = "",
    context: dict[str, Any] | None = None,
    loaded: kinds.Context | None = None,
) -> OutboxEmail | None:
    """``notify`` the buyer of ``order`` (their inbox when signed in, and the order's email address)."""
    return notify(
        kind=kind,
        reference=reference or order_reference(order),
        user=order.buyer,
        email=order.email,
        context={"order_id": order.pk, **(context or {})},
        loaded=loaded,
    )


def _may_email(*, kind: kinds.Kind, user: User | None) -> bool:
    if not kind.marketing:
        return True
    if user is None:
        return False
    return not Preference.objects.filter(user=user, marketing_email=False).exists()


def _enqueue_send(outbox_id: int) -> None:
    from notifications.tasks import outbox_send_task  # tasks import this module

    outbox_send_task.apply_async(args=[outbox_id], **_email_queue())


def _email_queue() -> dict[str, str]:
    queue = settings.NOTIFICATIONS_EMAIL_QUEUE
    return {"queue": queue} if queue else {}


# --- the relay ----------------------------------------------------------------------------------------------

RELAY_BATCH = 500
# time.monotonic() until which the relay this process last asked for has yet to run (see _email_queued).
_relay_due = 0.0


def _email_queued(outbox_id: int) -> None:
    """After the commit of a new outbox row: make sure it reaches a send task.

    The relay is asked for with a countdown of the whole window, so it runs after every commit that found
    it already asked for (each of them committed before this process's clock reached ``_relay_due``) and
    reads their rows. A relay lost on the way (broker down) leaves the rows to the relay beat runs every
    minute.
    """
    global _relay_due
    from notifications.tasks import outbox_relay_task  # tasks import this module

    delay = settings.NOTIFICATIONS_RELAY_DELAY_SECONDS
    if delay <= 0 or outbox_relay_task.app.conf.task_always_eager:
        _enqueue_send(outbox_id)
        return
    now = time.monotonic()
    if now < _relay_due:
        return
    outbox_relay_task.apply_async(countdown=delay, **_email_queue())
    _relay_due = now + delay


def outbox_relay(*, now: datetime | None = None) -> int:
    """Hand every queued email that no send task was asked for yet to one; returns how many.

    The rows are taken ``FOR UPDATE SKIP LOCKED`` and marked ``dispatched_at`` in one transaction, so two
    relays at once split them and never hand a row twice. The tasks are published after that commit; a
    relay that dies in between leaves its rows ``queued`` for ``outbox_requeue_stale``. More than
    ``RELAY_BATCH`` waiting: another relay follows at once.

    Only rows never tried (``attempts`` 0): a row back in ``queued`` after a transient error waits for its
    own task's backoff, however it got its first task. With the relay switched off
    (``NOTIFICATIONS_RELAY_DELAY_SECONDS`` 0: every row got its task at commit) it does nothing, so the
    beat's run never doubles a task still waiting in the broker.
    """
    from notifications.tasks import outbox_relay_task  # tasks import this module

    if settings.NOTIFICATIONS_RELAY_DELAY_SECONDS <= 0:
        return 0
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            OutboxEmail.objects.select_for_update(skip_locked=True)
            .filter(status=Status.QUEUED, attempts=0, dispatched_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:RELAY_BATCH]
        )
        OutboxEmail.objects.filter(pk__in=ids).update(dispatched_at=now)
    for outbox_id in ids:
        _enqueue_send(outbox_id)
    if len(ids) == RELAY_BATCH:
        outbox_relay_task.apply_async(**_email_queue())
    return len(ids)


# --- sending ------------------------------------------------------------------------------------------------


def outbox_send(*, outbox_id: int, now: datetime | None = None) -> OutboxEmail | None:
    """Send one queued email. Returns the row, or None when it was not ours to send (already sent or
    failed, or being sent by another worker).

    Claim (queued -> sending, one more attempt) by a conditional UPDATE, render, send, then ``sent``. A
    transient error puts the row back to ``queued`` with the error and raises ``EmailTransientError`` (the
    task retries) until the last attempt, which leaves it ``failed``; a permanent error (recipient
    refused, a template that cannot render) fails it at once. Not atomic on purpose: each step commits
    on its own, and no lock is held while talking to the mail server.
    """
    now = now or timezone.now()
    claimed = OutboxEmail.objects.filter(pk=outbox_id, status=Status.QUEUED).update(
        status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1, modified=now
    )
    if not claimed:
        return None
    outbox = OutboxEmail.objects.select_related("user").get(pk=outbox_id)
    try:
        message = email_build(outbox=outbox)
    except Exception as error:
        # Rendering does not get better by retrying (a bug or missing data): failed, logged, resendable.
        log.exception("outbox_render_failed", outbox_id=outbox_id, kind=outbox.kind)
        return _finish(outbox, status=Status.FAILED, error=error, now=now)
    try:
        message.send()
    except Exception as error:
        transient = _is_transient(error)
        log.warning(
            "outbox_send_failed",
            outbox_id=outbox_id,
            kind=outbox.kind,
            attempt=outbox.attempts,
            transient=transient,
            error=_describe(error),
        )
        if transient and outbox.attempts < settings.NOTIFICATIONS_EMAIL_MAX_ATTEMPTS:
            _finish(outbox, status=Status.QUEUED, error=error, now=now, subject=str(message.subject))
            raise EmailTransientError(_describe(error)) from error
        return _finish(outbox, status=Status.FAILED, error=error, now=now, subject=str(message.subject))
    log.info("outbox_sent", outbox_id=outbox_id, kind=outbox.kind, attempt=outbox.attempts)
    return _finish(outbox, status=Status.SENT, error=None, now=now, subject=str(message.subject))


def _finish(
    outbox: OutboxEmail,
    *,
    status: str,
    error: BaseException | None,
    now: datetime,
    subject: str | None = None,
) -> OutboxEmail:
    """Record the outcome of our claim (only while the row is still ours: ``sending``)."""
    outbox.status = status
    outbox.last_error = _describe(error) if error is not None else ""
    outbox.modified = now
    fields: dict[str, Any] = {"status": status, "last_error": outbox.last_error, "modified": now}
    if subject is not None:
        outbox.subject = fields["subject"] = subject[:200]
    if status == Status.SENT:
        outbox.sent_at = fields["sent_at"] = now
    OutboxEmail.objects.filter(pk=outbox.pk, status=Status.SENDING).update(**fields)
    return outbox


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def _is_transient(error: BaseException) -> bool:
    """May a later attempt succeed? Connection trouble and "try later" answers: yes. A refused address or
    a request the provider rejects: no."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, AnymailRecipientsRefused | AnymailInvalidAddress):
        return False
    if isinstance(error, AnymailAPIError):
        status = getattr(error, "status_code", None)
        return status is None or status == 429 or status >= 500
    # Connection refused or reset, timeouts, SMTPServerDisconnected (all OSError).
    return isinstance(error, OSError)


def outbox_requeue_stale(*, now: datetime | None = None) -> int:
    """Hand stuck messages back to a worker; returns how many were handed.

    ``sending`` for longer than ``NOTIFICATIONS_OUTBOX_STALE_SECONDS``: the worker died between claim and
    finish; back to ``queued`` (or ``failed`` once it has used all its attempts: a message that kills its
    worker must not loop forever). ``queued`` for that long: its task never arrived; sent again (the claim
    makes a duplicate task harmless). Broadcast jobs that stalled the same way are restarted too.
    """
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.NOTIFICATIONS_OUTBOX_STALE_SECONDS)
    limit = BATCH * 5
    stuck = list(
        OutboxEmail.objects.filter(status=Status.SENDING, claimed_at__lt=stale_before)
        .order_by("pk")
        .values_list("pk", "attempts")[:limit]
    )
    spent = [pk for pk, attempts in stuck if attempts >= settings.NOTIFICATIONS_EMAIL_MAX_ATTEMPTS]
    OutboxEmail.objects.filter(pk__in=spent, status=Status.SENDING).update(
        status=Status.FAILED, last_error="The worker was lost while sending, on every attempt.", modified=now
    )
    retry = [pk for pk, _ in stuck if pk not in spent]
    OutboxEmail.objects.filter(pk__in=retry, status=Status.SENDING).update(
        status=Status.QUEUED, last_error="The worker was lost while sending.", modified=now
    )
    waiting = list(
        OutboxEmail.objects.filter(status=Status.QUEUED, modified__lt=stale_before)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    # Not handed again before another stale period has passed.
    OutboxEmail.objects.filter(pk__in=waiting, status=Status.QUEUED).update(modified=now)
    ids = retry + waiting
    for outbox_id in ids:
        _enqueue_send(outbox_id)

    broadcasts = list(
        Broadcast.objects.filter(
            Q(status=Broadcast.Status.RUNNING) | Q(status=Broadcast.Status.QUEUED), modified__lt=stale_before
        ).values_list("pk", flat=True)
    )
    Broadcast.objects.filter(pk__in=broadcasts).update(status=Broadcast.Status.QUEUED, modified=now)
    for broadcast_id in broadcasts:
        _enqueue_broadcast(broadcast_id)
    if ids or broadcasts:
        log.info("outbox_requeued", emails=len(ids), broadcasts=len(broadcasts))
    return len(ids) + len(broadcasts)


@transaction.atomic
def outbox_resend(*, outbox_id: int, actor: User | None, now: datetime | None = None) -> OutboxEmail:
    """Staff: send a failed email again, with a fresh set of attempts (after commit). Anything but a
    failed email raises ``outbox_not_resendable`` (a queued or sending one is on its way; a sent one was
    delivered)."""
    now = now or timezone.now()
    outbox = OutboxEmail.objects.select_for_update().get(pk=outbox_id)
    if outbox.status != Status.FAILED:
        raise OutboxNotResendable(extra={"status": outbox.status})
    outbox.status = Status.QUEUED
    outbox.attempts = 0
    outbox.claimed_at = None
    outbox.last_error = ""
    outbox.modified = now
    outbox.save(update_fields=["status", "attempts", "claimed_at", "last_error", "modified"])
    log.info("outbox_resend", outbox_id=outbox.pk, actor_id=actor.pk if actor else None)
    on_commit_robust(_enqueue_send, outbox.pk)
    return outbox


# --- messages to every ticket holder ------------------------------------------------------------------------


def holder_orders(*, event_id: int, kind: str) -> QuerySet[Order]:
    """The orders whose buyers hold (or, for a cancellation, held) tickets for the event: paid and partly
    refunded ones; for ``event_cancelled`` also those already cancelled or refunded because of it."""
    holds = Q(status__in=[Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED])
    if kind == kinds.EVENT_CANCELLED.key:
        refunded_for_it = Refund.objects.filter(order=OuterRef("pk"), source=Refund.Source.EVENT_CANCELLED)
        holds |= Q(status=Order.Status.CANCELLED, paid_at__isnull=False)
        holds |= Q(Exists(refunded_for_it))
    return Order.objects.filter(holds, event_id=event_id)


@transaction.atomic
def broadcast_create(
    *, event: Event, kind: str, reference: str, context: dict[str, Any] | None = None
) -> Broadcast:
    """A job that tells every ticket holder of ``event`` (a message of ``kind`` per order), started after
    the caller's transaction commits. One per (kind, reference): asking twice returns the first."""
    kinds.get(kind)
    broadcast, created = Broadcast.objects.get_or_create(
        kind=kind, reference=reference, defaults={"event": event, "context": context or {}}
    )
    if created:
        on_commit_robust(_broadcast_progress, broadcast)
        on_commit_robust(_enqueue_broadcast, broadcast.pk)
    return broadcast


def broadcast_reference(broadcast: Broadcast, order: Order) -> str:
    """One message per order and broadcast (an event cancelled once; changed any number of times)."""
    if broadcast.kind == kinds.EVENT_CANCELLED.key:
        return order_reference(order)
    return f"{order_reference(order)}:broadcast:{broadcast.pk}"


def broadcast_run(*, broadcast_id: int, now: datetime | None = None, batch: int = BATCH) -> Broadcast | None:
    """Work through a broadcast: ``order_notify`` for each holder's order, ``batch`` orders per
    transaction, in id order from where it stopped (``cursor``), recording the progress after each batch.
    None when the job is not queued (done, or running elsewhere)."""
    now = now or timezone.now()
    claimed = Broadcast.objects.filter(pk=broadcast_id, status=Broadcast.Status.QUEUED).update(
        status=Broadcast.Status.RUNNING, started_at=Coalesce(F("started_at"), Value(now)), modified=now
    )
    if not claimed:
        return None
    broadcast = Broadcast.objects.get(pk=broadcast_id)
    orders = holder_orders(event_id=broadcast.event_id, kind=broadcast.kind)
    broadcast.total = broadcast.done + orders.filter(pk__gt=broadcast.cursor).count()
    broadcast.save(update_fields=["total", "modified"])
    _broadcast_progress(broadcast)
    while True:
        with transaction.atomic():
            chunk = list(
                orders.filter(pk__gt=broadcast.cursor).select_related("buyer").order_by("pk")[:batch]
            )
            for order in chunk:
                order_notify(
                    kind=broadcast.kind,
                    order=order,
                    reference=broadcast_reference(broadcast, order),
                    context=broadcast.context,
                )
            if chunk:
                broadcast.cursor = chunk[-1].pk
                broadcast.done += len(chunk)
            else:
                broadcast.status = Broadcast.Status.DONE
                broadcast.finished_at = timezone.now()
            broadcast.total = max(broadcast.total, broadcast.done)
            broadcast.save(update_fields=["cursor", "done", "total", "status", "finished_at", "modified"])
        _broadcast_progress(broadcast)
        if not chunk:
            log.info("broadcast_done", broadcast_id=broadcast.pk, kind=broadcast.kind, orders=broadcast.done)
            return broadcast


def _broadcast_progress(broadcast: Broadcast) -> None:
    progress_set(
        holder_notices_progress_key(event_id=broadcast.event_id),
        state=broadcast.status,
        done=broadcast.done,
        total=broadcast.total,
    )


def _enqueue_broadcast(broadcast_id: int) -> None:
    from notifications.tasks import broadcast_run_task  # tasks import this module

    broadcast_run_task.delay(broadcast_id)


# --- beat: holds about to lapse, events about to open ---------------------------------------------------


def _not_yet_sent(kind: str) -> Exists:
    """No message of ``kind`` about the outer order exists yet (any recipient)."""
    return Exists(
        OutboxEmail.objects.filter(
            kind=kind, reference=Concat(Value(ORDER_REFERENCE_PREFIX), OuterRef("code"))
        )
    )


def holds_warn_expiring(*, now: datetime | None = None) -> int:
    """Warn each buyer whose hold lapses within ``NOTIFICATIONS_HOLD_WARNING_MINUTES`` (once per order);
    returns how many were warned."""
    now = now or timezone.now()
    end = now + timedelta(minutes=settings.NOTIFICATIONS_HOLD_WARNING_MINUTES)
    due = (
        Order.objects.filter(status=Order.Status.PENDING, expires_at__gt=now, expires_at__lte=end)
        .exclude(_not_yet_sent(kinds.HOLD_EXPIRING.key))
        .select_related("buyer")
        .order_by("expires_at", "pk")[: BATCH * 5]
    )
    warned = 0
    for order in due:
        if order_notify(kind=kinds.HOLD_EXPIRING.key, order=order) is not None:
            warned += 1
    return warned


def reminder_reference(order: Order) -> str:
    """What the reminder of ``order`` is unique by: the order, and the event's time as it stands
    (``Event.schedule_version``), so a show that moves gets a reminder before its new time too."""
    version = order.event.schedule_version
    return order_reference(order) if version == 1 else f"{order_reference(order)}@v{version}"


def reminders_send_due(*, now: datetime | None = None) -> int:
    """Remind each ticket holder whose event's doors open (its start, without a doors time) within
    ``NOTIFICATIONS_REMINDER_HOURS`` (once per order and event time: a moved show is reminded of again;
    published events only); returns how many."""
    now = now or timezone.now()
    horizon = now + timedelta(hours=settings.NOTIFICATIONS_REMINDER_HOURS)
    valid_tickets = Ticket.objects.filter(order=OuterRef("pk"), status=Ticket.Status.VALID)
    # reminder_reference() in SQL, for the sweep to skip what was sent without reading it.
    reference = Case(
        When(event__schedule_version=1, then=Concat(Value(ORDER_REFERENCE_PREFIX), "code")),
        default=Concat(
            Value(ORDER_REFERENCE_PREFIX), "code", Value("@v"), Cast("event__schedule_version", CharField())
        ),
    )
    reminded_already = OutboxEmail.objects.filter(
        kind=kinds.EVENT_REMINDER.key, reference=OuterRef("reminder_reference")
    )
    due = (
        Order.objects.alias(
            doors=Coalesce("event__doors_at", "event__starts_at"), reminder_reference=reference
        )
        .filter(
            Exists(valid_tickets),
            status__in=[Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED],
            event__status=Event.Status.PUBLISHED,
            doors__gt=now,
            doors__lte=horizon,
        )
        .exclude(Exists(reminded_already))
        .select_related("buyer", "event")
        .order_by("pk")[: BATCH * 5]
    )
    reminded = 0
    for order in due:
        if (
            order_notify(kind=kinds.EVENT_REMINDER.key, order=order, reference=reminder_reference(order))
            is not None
        ):
            reminded += 1
    return reminded
