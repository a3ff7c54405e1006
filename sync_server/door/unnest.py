"""Set-based writes of many rows in one statement.

On PostgreSQL the rows travel as one array per column and are unnested on the server
(``INSERT ... SELECT unnest(...)``, ``UPDATE ... FROM (SELECT unnest(...))``): the statement
text stays small and identical whatever the row count, so it is neither re-parsed per row nor
megabytes long. Elsewhere (SQLite) the same call is an executemany, which SQLAlchemy already
batches well there.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sync_server.db import UTCDateTime


def _postgres(session: Session) -> bool:
    return session.connection().dialect.name == "postgresql"


def _array_type(column: sa.Column[Any]) -> sa.types.TypeEngine[Any]:
    kind = column.type
    if isinstance(kind, sa.Enum):
        return sa.String()
    if isinstance(kind, UTCDateTime):
        return sa.DateTime(timezone=True)
    return kind


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _unnested(table: sa.Table, rows: Sequence[dict[str, Any]], columns: Sequence[str],
              names: Sequence[str] | None = None) -> list[Any]:
    out = []
    for column, name in zip(columns, names or columns, strict=True):
        values = [_plain(row[name]) for row in rows]
        array = sa.bindparam(f"col_{name}", values,
                             type_=postgresql.ARRAY(_array_type(table.c[column])))
        out.append(sa.func.unnest(array).label(name))
    return out


def insert_rows(session: Session, table: sa.Table, rows: Sequence[dict[str, Any]], *,
                conflict: Sequence[sa.Column[Any]],
                returning: Sequence[sa.Column[Any]] = ()) -> list[Any]:
    """Insert ``rows`` (same keys each), skipping conflicts on ``conflict``; returned rows of
    the ones inserted now, if ``returning`` names columns."""
    if not rows:
        return []
    columns = list(rows[0])
    if _postgres(session):
        stmt: Any = (postgresql.insert(table)
                     .from_select(columns, sa.select(*_unnested(table, rows, columns)))
                     .on_conflict_do_nothing(index_elements=list(conflict)))
        if returning:
            stmt = stmt.returning(*returning)
        result = session.execute(stmt)
    else:
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(conflict))
        if returning:
            stmt = stmt.returning(*returning)
        result = session.execute(stmt, list(rows))
    return list(result.all()) if returning else []


def update_rows(session: Session, table: sa.Table, key: str,
                rows: Sequence[dict[str, Any]]) -> None:
    """``UPDATE table SET <other keys> WHERE <key> = row[key]`` for every row (same keys each;
    each key a column name)."""
    if not rows:
        return
    names = [name for name in rows[0] if name != key]
    if _postgres(session):
        values = sa.select(*_unnested(table, rows, [key, *names])).subquery("v")
        session.execute(table.update().where(table.c[key] == values.c[key])
                        .values({name: values.c[name] for name in names}))
    else:
        param = f"key_{key}"
        session.execute(
            table.update().where(table.c[key] == sa.bindparam(param))
            .values({name: sa.bindparam(f"set_{name}") for name in names}),
            [{param: row[key], **{f"set_{n}": row[n] for n in names}} for row in rows])
