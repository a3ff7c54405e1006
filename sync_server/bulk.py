"""Insert new ORM objects in one round trip, without the unit of work (the checkout's hot path).

``take_ids`` gives the new rows their primary keys before anything is inserted (a ticket's token
signs its id): on PostgreSQL from blocks of each table's sequence kept by the process (one
``SELECT nextval(...)`` statement refills every short block at once, every 64 ids or so);
elsewhere (SQLite, one writer at a time) ``max(id) + 1`` once the transaction holds the write
lock.

``build`` makes the objects without the ORM constructor's attribute event per column.
``insert_new`` then writes them (and association rows) — on PostgreSQL as ONE statement of
data-modifying CTEs (foreign keys are checked at the end of the statement), elsewhere a statement
per table — and attaches them to the session as if just loaded (unless told not to): persistent,
nothing pending, every column set, so reading them back costs no query. The ORM unit of work is
skipped, so its ``before_flush`` hooks are too: the caller must call
``door.changes.touch_tickets`` for tickets.

Measured in docs/purchase.md: the unit of work took ~27 % of a checkout's CPU, the constructors'
events and attaching a sale's four rows ~17 % of what was left.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, SessionTransaction, make_transient_to_detached
from sqlalchemy.orm.instrumentation import manager_of_class

from sync_server.db import Base, standalone
from sync_server.door.changes import NUMBER_VALUE, NUMBERED_COLUMN, number_cte

logger = logging.getLogger(__name__)

B = TypeVar("B", bound=Base)

# PostgreSQL sequence names per table (the migrations create SERIAL columns); resolved once.
_SEQUENCES: dict[str, str] = {}


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _sequence(session: Session, table: str) -> str:
    name = _SEQUENCES.get(table)
    if name is None:
        name = str(session.scalar(standalone(
            sa.select(sa.func.pg_get_serial_sequence(table, "id")))))
        _SEQUENCES[table] = name
    return name


def _table(model: type[Base]) -> sa.Table:
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


def _lock_sqlite(session: Session) -> None:
    """SQLite: take the database's write lock now (pysqlite opens the transaction at the first
    write; a write statement that matches no row still takes the lock)."""
    session.execute(_LOCK_SQLITE)


_LOCK_SQLITE = sa.text("UPDATE door_event_changes SET last_change = last_change WHERE 0")


# PostgreSQL: ids are handed out from blocks taken from each table's sequence, so a checkout
# usually spends no statement on them. Per process (a forked worker starts with none) and engine.
# Ids are unique but, across worker processes, not in creation order; every listing that means
# "newest first" sorts by time, not id. A worker that exits leaves the rest of its blocks unused.
ID_BLOCK = 64
_blocks: weakref.WeakKeyDictionary[sa.Engine, tuple[int, dict[str, list[int]]]] = (
    weakref.WeakKeyDictionary())
_blocks_lock = threading.Lock()


def take_ids(
    session: Session, counts: Mapping[type[Base], int],
) -> dict[type[Base], list[int]]:
    """``counts[model]`` new primary keys per model. PostgreSQL: from this process's blocks,
    refilled from the sequences in one statement when short. Elsewhere (SQLite, one writer at a
    time): ``max(id) + 1`` once the transaction holds the write lock."""
    wanted = {model: n for model, n in counts.items() if n > 0}
    if _is_postgres(session):
        return _from_blocks(session, wanted)
    _lock_sqlite(session)
    ids: dict[type[Base], list[int]] = {}
    for model, n in wanted.items():
        table = _table(model)
        top = int(session.scalar(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))) or 0)
        ids[model] = list(range(top + 1, top + 1 + n))
    return ids


def _from_blocks(session: Session, wanted: Mapping[type[Base], int]) -> dict[type[Base], list[int]]:
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, sa.Connection) else bind
    session.flush()  # now, not inside the lock below (a flush can wait for row locks)
    with _blocks_lock, session.no_autoflush:
        pid, blocks = _blocks.get(engine, (0, {}))
        if pid != os.getpid():
            blocks = {}
            _blocks[engine] = (os.getpid(), blocks)
        names = {model: _table(model).name for model in wanted}
        short = [(names[model], max(ID_BLOCK, n * 4)) for model, n in wanted.items()
                 if len(blocks.get(names[model], ())) < n]
        if short:
            statement = _ids_statement(
                tuple((_sequence(session, table), size) for table, size in short))
            row = session.execute(statement).one()
            for (table, _), fresh in zip(short, row, strict=True):
                blocks.setdefault(table, []).extend(sorted(int(v) for v in fresh))
        ids = {}
        for model, n in wanted.items():
            block = blocks[names[model]]
            ids[model], block[:] = block[:n], block[n:]
    return ids


@functools.cache
def _ids_statement(sequences: tuple[tuple[str, int], ...]) -> sa.TextClause:
    """``SELECT`` an array of ``n`` new values of each sequence (built once per shape: a text
    statement is compiled once, an expression tree on every call)."""
    columns = [
        # Our own sequence names (from pg_get_serial_sequence) and integer counts only.
        f"(SELECT array_agg(nextval('{name}')) FROM generate_series(1, {int(n)}))"  # noqa: S608
        for name, n in sequences
    ]
    # Standalone (db.standalone): sequences are not transactional anyway.
    return standalone(sa.text("SELECT " + ", ".join(columns)))


def build(model: type[B], **values: Any) -> B:
    """A new, transient ``model`` for :func:`insert_new`, its columns set straight into the
    instance's ``__dict__`` (relationships the usual way): the ORM's constructor fires an
    attribute event per column, which cost more than the insert itself on the checkout's hot
    path. The object is no different once attached (``insert_new`` commits its state)."""
    obj = manager_of_class(model).new_instance()
    columns, relationships = _keys(model)
    for key, value in values.items():
        if key in columns:
            obj.__dict__[key] = value
        elif key in relationships:
            setattr(obj, key, value)
        else:
            raise TypeError(f"{key!r} is not an attribute of {model.__name__}")
    return obj


@functools.cache
def _keys(model: type[Base]) -> tuple[frozenset[str], frozenset[str]]:
    return (frozenset(key for key, *_ in _columns(model)),
            frozenset(p.key for p in sa.inspect(model).relationships))


@functools.cache
def _columns(model: type[Base]) -> tuple[tuple[str, str, Any, bool], ...]:
    """Per mapped column of ``model``: attribute key, column name, Python-side default (None,
    or the ``ColumnDefault``), and whether the database has a default of its own."""
    return tuple((prop.key, prop.columns[0].name, prop.columns[0].default,
                  prop.columns[0].server_default is not None)
                 for prop in sa.inspect(model).column_attrs)


def _row(obj: Base) -> dict[str, Any]:
    """The columns of ``obj`` to insert, Python-side defaults applied; every column is set on the
    object (so reading it back costs no query), but NULLs the database would store anyway are
    left out of the row (fewer parameters to send)."""
    row: dict[str, Any] = {}
    values = obj.__dict__
    for key, name, default, server_default in _columns(type(obj)):
        value = values.get(key)
        if value is None and default is not None:
            value = values[key] = default.arg if default.is_scalar else default.arg(None)
        elif key not in values:
            values[key] = None
        if value is not None or server_default:
            row[name] = value
    return row


@dataclass(frozen=True)
class Guard:
    """A condition the insert's own statement checks (PostgreSQL): ``sql`` is a CTE named
    ``guard`` (a conditional UPDATE ... RETURNING, say) that returns a row if the insert counts.
    If it returns none, the rows are inserted all the same but NOT numbered for the doors (and
    the counter is not taken): the caller then does the slow way or rolls back."""

    sql: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Inserted:
    number: int | None  # the door change number of the inserted tickets, None: not numbered
    guarded: bool = True  # the guard returned a row and the rows are in (True with no guard)


def insert_new(
    session: Session, objects: Sequence[Base],
    links: Mapping[sa.Table, Sequence[Mapping[str, Any]]] | None = None,
    *, door_event_id: int | None = None, guard: Guard | None = None, attach: bool = True,
) -> Inserted:
    """INSERT ``objects`` (primary keys set, parents before children) and ``links`` rows, then
    attach the objects to ``session`` as persistent and clean.

    ``door_event_id`` (PostgreSQL): the same statement takes that event's next door change
    number and inserts the ticket rows with it (``door.changes.number_cte``), so they need no
    numbering UPDATE at commit. The counter row then stays locked until the commit: this must be
    the transaction's last statement that takes a lock. ``guard`` (with ``door_event_id``):
    all or nothing — the rows are inserted and the number taken only if the guard returns a row,
    after it (so its lock comes first); if it returns none, nothing is written and nothing
    attached (``guarded`` False). Such a statement is whole on its own, so it is standalone
    (``db.standalone``): with no transaction open it commits by itself. Elsewhere, or without
    ``door_event_id``, nothing is numbered (the caller calls ``touch_tickets``) and there may be
    no guard.

    ``attach`` False: the objects stay transient, for a caller that only reads them back (to
    answer with them); attaching them costs more than the insert's own Python.
    """
    by_table: dict[sa.Table, list[dict[str, Any]]] = {}
    for obj in objects:
        by_table.setdefault(_table(type(obj)), []).append(_row(obj))
    for table, rows in (links or {}).items():
        if rows:
            by_table.setdefault(table, []).extend(dict(r) for r in rows)
    for table, rows in by_table.items():  # one column list per table: NULL where a row has none
        columns = list(dict.fromkeys(name for row in rows for name in row))
        by_table[table] = [{name: row.get(name) for name in columns} for row in rows]
    inserted = Inserted(number=None)
    postgres = _is_postgres(session)
    if guard is not None and not (postgres and door_event_id is not None):
        raise ValueError("a guard needs PostgreSQL and door_event_id")
    if postgres and (len(by_table) > 1 or door_event_id is not None):
        shape = tuple((table, tuple(rows[0]), len(rows)) for table, rows in by_table.items())
        params = {f"p{i}_{r}_{n}": value
                  for i, rows in enumerate(by_table.values())
                  for r, row in enumerate(rows) for n, value in enumerate(row.values())}
        numbered = door_event_id is not None
        if numbered:
            params["door_event_id"] = door_event_id
        if guard is not None:
            params.update(guard.params)
        statement = _combined_insert(shape, session.get_bind().dialect, numbered=numbered,
                                     guard=guard.sql if guard else None)
        row = session.execute(statement, params).one()
        if numbered:
            number = None if row[0] is None else int(row[0])
            inserted = Inserted(number=number, guarded=bool(row[1]))
            for obj in objects:
                if NUMBERED_COLUMN in obj.__dict__:
                    setattr(obj, NUMBERED_COLUMN, number or 0)
            if not inserted.guarded:
                return inserted
    else:
        for table, rows in by_table.items():
            session.execute(table.insert().values(rows))
    if not attach:
        return inserted
    for obj in objects:
        make_transient_to_detached(obj)
    with session.no_autoflush:
        for obj in objects:
            session.add(obj)
    # Forgotten if this transaction (or the savepoint it ran in) rolls back, as flushed new
    # objects are: the rows are gone, and on SQLite their ids will be handed out again.
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_INSERTED, []).append((transaction, list(objects)))
    return inserted


_INSERTED = "bulk_inserted"

# SQLAlchemy never caches the compiled form of a statement with DML in its CTEs (its cache key
# is None), and compiling it took more time than the round trips it saves: so the combined
# statement is a typed text() made once per shape (tables, columns, row counts), which is.
_COMBINED: dict[tuple[Any, ...], sa.TextClause] = {}
_NUMBER_ONLY = "(SELECT last_change FROM door_number), true"
_NUMBER_AND_GUARD = "(SELECT last_change FROM door_number), EXISTS (SELECT 1 FROM guard)"


def _combined_insert(shape: tuple[tuple[sa.Table, tuple[str, ...], int], ...],
                     dialect: sa.Dialect, *, numbered: bool, guard: str | None) -> sa.TextClause:
    key = (shape, numbered, guard)
    stmt = _COMBINED.get(key)
    if stmt is not None:
        return stmt
    quote = dialect.identifier_preparer.quote
    parts: list[str] = [guard] if guard else []
    if numbered:
        parts.append(number_cte(gated_on="guard" if guard else None))
    binds: list[sa.BindParameter[Any]] = []
    for i, (table, columns, count) in enumerate(shape):
        rows = []
        for r in range(count):
            names = [f"p{i}_{r}_{n}" for n in range(len(columns))]
            values = []
            for name, column in zip(names, columns, strict=True):
                if numbered and column == NUMBERED_COLUMN:
                    values.append(NUMBER_VALUE)
                else:
                    values.append(f":{name}")
                    binds.append(sa.bindparam(name, type_=table.c[column].type))
            rows.append(", ".join(values))
        # Identifiers come from our own table metadata (quoted); every value is a bound parameter.
        into = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)})"
        if guard:  # a row at a time, each only if the guard passed (its values typed by the
            # target columns, which a multi-row SELECT would not do)
            parts.extend(f"insert_{i}_{r} AS ({into} SELECT {row} "  # noqa: S608
                         "WHERE EXISTS (SELECT 1 FROM guard))" for r, row in enumerate(rows))
        else:
            parts.append(f"insert_{i} AS ({into} "
                         f"VALUES {', '.join('(' + row + ')' for row in rows)})")
    result = ((_NUMBER_AND_GUARD if guard else _NUMBER_ONLY) if numbered else str(len(shape)))
    stmt = sa.text("WITH " + ",\n".join(parts) + f"\nSELECT {result}").bindparams(*binds)
    stmt = _COMBINED[key] = standalone(stmt) if guard else stmt
    return stmt


def _within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


def _forget_rolled_back(session: Session, previous: SessionTransaction) -> None:
    inserted = session.info.get(_INSERTED)
    if not inserted:
        return
    keep = []
    for transaction, objects in inserted:
        if _within(transaction, previous):
            for obj in objects:
                if obj in session:
                    session.expunge(obj)
        else:
            keep.append((transaction, objects))
    session.info[_INSERTED] = keep


def _forget_committed(session: Session) -> None:
    session.info.pop(_INSERTED, None)


for _name, _listener in (("after_soft_rollback", _forget_rolled_back),
                         ("after_commit", _forget_committed)):
    if not sa.event.contains(Session, _name, _listener):
        sa.event.listen(Session, _name, _listener)
