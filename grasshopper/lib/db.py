"""Small database helpers the ORM does not offer in one statement."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from types import MethodType
from typing import Any, Generic, TypeVar, cast

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.constants import OnConflict
from django.db.models.query import ModelIterable, get_related_populators  # type: ignore[attr-defined]
from django.db.models.sql.compiler import SQLCompiler, SQLInsertCompiler
from django.db.models.sql.subqueries import InsertQuery, UpdateQuery

M = TypeVar("M", bound=Model)


def on_commit_robust(func: Callable[..., object], *args: Any) -> None:
    """``transaction.on_commit(robust=True)`` of ``func(*args)``: once the transaction commits, call it; if
    it raises, Django logs the error and goes on (the committed work stands).

    Django names the failing callback in that log line by ``__qualname__``, which a bare
    ``functools.partial`` lacks: the logging itself raised ``AttributeError`` and a purchase that had
    committed answered 500 when the broker was down. The partial made here carries its function's name.
    """
    call = partial(func, *args)
    call.__qualname__ = func.__qualname__  # type: ignore[attr-defined]
    transaction.on_commit(call, robust=True)


def _cursor(connection: BaseDatabaseWrapper) -> AbstractContextManager[Any]:
    """``connection.cursor()`` for the statements of the helpers below: on PostgreSQL the driver's cursor
    is made once per driver connection and reused.

    Making a psycopg cursor copies the connection's adapters, and a new cursor looks up each value's dumper
    again: on an order's few statements that was ~4 % of the web process's CPU. The driver's cursor is
    wrapped as Django wraps every cursor (query logging, ``execute_wrapper`` and error translation see
    these statements like any other), after the same health check and (re)connection, and left open when
    the ``with`` block ends. A new driver connection gets a new cursor. Other databases (SQLite, the
    embedded default) get a new cursor, closed at the end of the block, as ``connection.cursor()`` gives.
    """
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    # The cursor is made for a driver connection and a time zone (its timestamps' loader).
    made_for = (connection.connection, connection.timezone)
    cached = getattr(connection, "_grasshopper_cursor", None)
    if cached is None or cached[0] != made_for or cached[1].closed:
        with connection.wrap_database_errors:
            cached = (made_for, connection.create_cursor(None))
        connection._grasshopper_cursor = cached  # type: ignore[attr-defined]
    return nullcontext(connection._prepare_cursor(cached[1]))  # type: ignore[attr-defined]


def insert_unless_exists(instance: Model) -> bool:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` of ``instance``: True, with ``instance.pk`` set,
    when the row is new; False when a unique constraint already holds one like it (``instance`` is left
    unsaved; read the existing row if you need it).

    One statement instead of ``get_or_create``'s four inside a transaction (SELECT, SAVEPOINT, INSERT,
    RELEASE), and no IntegrityError to catch: for rows written once per fact on a busy path (the outbox and
    the inbox of an order confirmation). ``bulk_create(ignore_conflicts=True)`` cannot say which happened.
    Fields are prepared as ``save()`` does (``auto_now``/``auto_now_add`` included); no signals are sent.
    The statement is compiled once, like ``insert_all``'s.
    """
    return _insert([instance], ignore_conflicts=True) == 1


# --- Queries compiled once --------------------------------------------------------------------------------
# The ORM turns a QuerySet into SQL on every evaluation: for a select_related() by primary key that is
# ~0.6 ms of CPU, more than PostgreSQL spends answering it. On the order hot path (a flash sale: every
# request does the same few statements) the helpers below let the ORM write the SQL once per process and
# database, then run it again with other values: same text, same columns and joins, same converters and
# model instances as the QuerySet would give, through the same cursor wrapper (so query counting, logging
# and ``execute_wrapper`` see them). The QuerySet stays the single description of the query.
#
# How values are swapped in: the builder is called once with placeholder values (``_SENTINELS``: integers
# no real row uses, within 32 bits so the ORM's range checks keep the lookup); every SQL parameter equal to
# a placeholder is replaced by the caller's value on each run. Compiling checks that each placeholder
# reached the parameters, so a builder that consumes a value in Python (and would freeze it) fails loudly.

_SENTINELS = tuple(-2_147_480_000 - i for i in range(8))


class _CompiledSQL:
    """SQL text and parameters, with the positions of the placeholders among the parameters."""

    def __init__(self, sql: str, params: Sequence[Any], arity: int) -> None:
        self.sql = sql
        self.params = list(params)
        # (parameter position, argument index, the driver's int wrapper or None): an integer inside an
        # expression (``F("held") + n``) reaches psycopg typed (``Int4(n)``); the caller's value is too.
        self.slots: list[tuple[int, int, type[int] | None]] = []
        for position, value in enumerate(self.params):
            if isinstance(value, int) and not isinstance(value, bool) and value in _SENTINELS[:arity]:
                wrapper = None if type(value) is int else type(value)
                self.slots.append((position, _SENTINELS.index(value), wrapper))
        missing = set(range(arity)) - {argument for _, argument, _ in self.slots}
        if missing:
            raise ImproperlyConfigured(f"compiled query: arguments {sorted(missing)} are not SQL parameters")

    def bind(self, args: Sequence[Any]) -> list[Any]:
        params = self.params.copy()
        for position, argument, wrapper in self.slots:
            params[position] = args[argument] if wrapper is None else wrapper(args[argument])
        return params


class _SelectPlan:
    """What ModelIterable works out from a compiled query before reading its rows, worked out once."""

    def __init__(self, compiler: SQLCompiler, using: str) -> None:
        klass_info = compiler.klass_info
        if klass_info is None:  # as_sql() sets it for any query of model instances
            raise ImproperlyConfigured("CompiledSelect takes a QuerySet of model instances")
        self.model: type[Model] = klass_info["model"]
        self.start, self.end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        self.init_list = [column[0].target.attname for column in compiler.select[self.start : self.end]]
        self.populators = get_related_populators(klass_info, compiler.select, using)
        self.converters = compiler.get_converters(
            [column[0] for column in compiler.select[: compiler.col_count]]
        )
        self.compiler = compiler  # read only from here on: threads may share the plan


class CompiledSelect(Generic[M]):
    """A SELECT of model instances (``select_related`` included) compiled once per database alias.

    ``_TICKET_TYPE = CompiledSelect(lambda pk: TicketType.objects.select_related("event").filter(pk=pk))``
    then ``_TICKET_TYPE.all(42)``: the instances ``.filter(pk=42)`` would give, in the same order. Only
    plain model QuerySets (no annotations, ``values()``, ``prefetch_related`` or ``only()``): checked at
    compile time.
    """

    def __init__(self, build: Callable[..., QuerySet[M]]) -> None:
        self._build = build
        self._arity = build.__code__.co_argcount
        self._compiled: dict[str, tuple[_SelectPlan, _CompiledSQL]] = {}

    def _compile(self, using: str) -> tuple[_SelectPlan, _CompiledSQL]:
        queryset = self._build(*_SENTINELS[: self._arity])
        query = queryset.query
        if (
            queryset._iterable_class is not ModelIterable  # type: ignore[attr-defined]
            or queryset._prefetch_related_lookups  # type: ignore[attr-defined]
            or query.annotations
            or query.deferred_loading != (frozenset(), True)
        ):
            raise ImproperlyConfigured("CompiledSelect takes a plain model QuerySet")
        compiler = query.get_compiler(using=using)
        sql, params = compiler.as_sql()  # also fills compiler.select and compiler.klass_info
        compiled = (_SelectPlan(compiler, using), _CompiledSQL(sql, params, self._arity))
        self._compiled[using] = compiled
        return compiled

    def all(self, *args: Any, using: str = DEFAULT_DB_ALIAS) -> list[M]:
        plan, compiled = self._compiled.get(using) or self._compile(using)
        with _cursor(connections[using]) as cursor:
            cursor.execute(compiled.sql, compiled.bind(args))
            rows: Iterable[Any] = cursor.fetchall()
        # What ModelIterable does with a compiler's results (its known-related-objects and annotation steps
        # do not apply: checked at compile time).
        if plan.converters:
            rows = plan.compiler.apply_converters(rows, plan.converters)
        instances = []
        for row in rows:
            instance = plan.model.from_db(using, plan.init_list, row[plan.start : plan.end])
            for populator in plan.populators:
                populator.populate(row, instance)
            instances.append(instance)
        return instances  # type: ignore[return-value]

    def first(self, *args: Any, using: str = DEFAULT_DB_ALIAS) -> M | None:
        found = self.all(*args, using=using)
        return found[0] if found else None


class CompiledUpdate:
    """An ``UPDATE`` compiled once per database alias; ``run(*args)`` returns the number of rows changed.

    ``CompiledUpdate(lambda pk, n: (TicketType.objects.filter(pk=pk), {"held": F("held") + n}))``: the
    builder returns the QuerySet to update and the values, as ``queryset.update(**values)`` takes them.
    """

    def __init__(self, build: Callable[..., tuple[QuerySet[Any], dict[str, Any]]]) -> None:
        self._build = build
        self._arity = build.__code__.co_argcount
        self._compiled: dict[str, _CompiledSQL] = {}

    def _compile(self, using: str) -> _CompiledSQL:
        queryset, values = self._build(*_SENTINELS[: self._arity])
        # What QuerySet.update() builds, minus the execution.
        query = cast(UpdateQuery, queryset.query.chain(UpdateQuery))
        query.add_update_values(values)
        query.annotations = {}
        sql, params = query.get_compiler(using=using).as_sql()
        compiled = _CompiledSQL(sql, params, self._arity)
        self._compiled[using] = compiled
        return compiled

    def run(self, *args: Any, using: str = DEFAULT_DB_ALIAS) -> int:
        compiled = self._compiled.get(using) or self._compile(using)
        # As QuerySet.update(): an error inside an atomic block marks it for rollback.
        with transaction.mark_for_rollback_on_error(using=using), _cursor(connections[using]) as cursor:
            cursor.execute(compiled.sql, compiled.bind(args))
            return int(cursor.rowcount)


# (model, rows, ignore, db) -> the statement, and whether it takes one array per column (PostgreSQL's
# UNNEST form of a multi-row INSERT) rather than one value per row and column.
_INSERT_SQL: dict[tuple[type[Model], int, bool, str], tuple[str, bool]] = {}
# Up to this many rows, insert_all sends one placeholder per value (``VALUES (...), (...)``) where Django's
# PostgreSQL compiler sends one array per column (``UNNEST``, which plans faster for big batches): psycopg
# adapts plain values in C and lists in Python, so for an order's few rows the plain form costs the web
# process less (a free order with two history rows and its tickets: -4.4 % CPU instructions, bench/README.md).
INSERT_VALUES_ROWS = 100


def insert_all(instances: Sequence[Model]) -> None:
    """INSERT new instances of one model in one statement, like ``bulk_create`` (primary keys set from
    ``RETURNING``, foreign keys taken from saved related objects, ``auto_now``/defaults applied, no signals),
    with the statement's text compiled once per model, row count and database.

    Values are prepared as the ORM's INSERT compiler prepares them (``pre_save``, ``get_db_prep_save``);
    only the SQL text is reused. A value that is itself an expression (SQL, not a parameter) sends the call
    through the ORM's compiler, as ``bulk_create`` does every time.
    """
    if instances:
        _insert(instances, ignore_conflicts=False)


def _insert(instances: Sequence[Model], *, ignore_conflicts: bool) -> int:
    """The INSERT of ``insert_all`` and ``insert_unless_exists``: the number of rows written (a row a unique
    constraint skipped, with ``ignore_conflicts``, returns no id and keeps its instance unsaved)."""
    model = type(instances[0])
    meta = model._meta
    fields = [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]
    using = router.db_for_write(model, instance=instances[0])
    connection = connections[using]
    for instance in instances:
        instance._prepare_related_fields_for_save(operation_name="insert_all")  # type: ignore[attr-defined]
    key = (model, len(instances), ignore_conflicts, using)
    cached = _INSERT_SQL.get(key)
    values = [field.pre_save(obj, add=True) for obj in instances for field in fields]
    plain = not any(hasattr(value, "resolve_expression") for value in values)
    if cached and plain:
        sql, by_column = cached
        values = [
            field.get_db_prep_save(value, connection=connection)
            for value, field in zip(values, fields * len(instances), strict=True)
        ]
        if by_column:  # [row 1's columns..., row 2's columns...] -> [column 1's rows, column 2's rows...]
            values = [values[column :: len(fields)] for column in range(len(fields))]
    else:
        # The ORM's own statement, RETURNING the primary key.
        query = InsertQuery(model, on_conflict=OnConflict.IGNORE if ignore_conflicts else None)
        query.insert_values(fields, list(instances))
        compiler = query.get_compiler(using=using)
        compiler.returning_fields = [meta.pk]
        if len(instances) <= INSERT_VALUES_ROWS:  # one placeholder per value, as on other databases
            compiler.assemble_as_sql = MethodType(SQLInsertCompiler.assemble_as_sql, compiler)  # type: ignore[method-assign]
        [(sql, params)] = compiler.as_sql()
        values = list(params)
        if plain and len(values) == len(fields) * len(instances):
            _INSERT_SQL[key] = (sql, False)
        elif plain and len(instances) > 1 and len(values) == len(fields):
            # Several rows as one array per column: the same values, by column (PostgreSQL's compiler).
            _INSERT_SQL[key] = (sql, True)
    # As Model.save() and bulk_create(): an error inside an atomic block marks it for rollback.
    with transaction.mark_for_rollback_on_error(using=using), _cursor(connection) as cursor:
        cursor.execute(sql, values)
        rows = cursor.fetchall()
    if ignore_conflicts and len(rows) < len(instances):
        if len(instances) > 1:  # which rows were skipped is not known: callers insert one at a time
            raise NotImplementedError("ignore_conflicts inserts one row at a time")
        return 0
    for instance, (pk,) in zip(instances, rows, strict=True):
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = using
    return len(rows)
