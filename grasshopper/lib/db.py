"""Small database helpers the ORM does not offer in one statement."""

from __future__ import annotations

from django.db import router
from django.db.models import Model
from django.db.models.constants import OnConflict


def insert_unless_exists(instance: Model) -> bool:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` of ``instance``: True, with ``instance.pk`` set,
    when the row is new; False when a unique constraint already holds one like it (``instance`` is left
    unsaved; read the existing row if you need it).

    One statement instead of ``get_or_create``'s four inside a transaction (SELECT, SAVEPOINT, INSERT,
    RELEASE), and no IntegrityError to catch: for rows written once per fact on a busy path (the outbox and
    the inbox of an order confirmation). ``bulk_create(ignore_conflicts=True)`` cannot say which happened.
    Fields are prepared as ``save()`` does (``auto_now``/``auto_now_add`` included); no signals are sent.
    """
    model = type(instance)
    meta = model._meta
    fields = [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]
    using = router.db_for_write(model, instance=instance)
    # QuerySet._insert: the ORM's own INSERT (what save() and bulk_create() call), with Django's on-conflict
    # clause and RETURNING; PostgreSQL returns no row when the conflict skipped the insert.
    rows = model._base_manager._insert(  # type: ignore[attr-defined]
        [instance],
        fields=fields,
        returning_fields=[meta.pk],
        using=using,
        on_conflict=OnConflict.IGNORE,
    )
    if not rows or rows[0] is None:
        return False
    instance.pk = rows[0][0]
    instance._state.adding = False
    instance._state.db = using
    return True
