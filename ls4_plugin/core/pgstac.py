"""pgSTAC: the static catalog of a collection mirrored into the ``pgstac`` schema, for STAC APIs.

Loads go through pypgstac's ``Loader`` in upsert mode, so loading the same Items again changes no
row. pypgstac (with psycopg 3) is imported only here and only when pgSTAC is configured: the
plugin runs without it, and says what to install when it is asked to load. The schema itself is
made once by an administrator with ``pypgstac migrate --dsn ...`` (it creates roles and
extensions); the local stack does that at start-up.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InputError, Ls4Error

INSTALL = "pip install 'pypgstac[psycopg]'"

# A STAC Collection or Item as JSON.
Document = dict[str, Any]


def _modules() -> tuple[Any, Any, Any, Any]:
    try:
        import psycopg
        from pypgstac.db import PgstacDB
        from pypgstac.load import Loader, Methods
    except ImportError as error:
        raise InputError(
            f"loading into pgSTAC needs pypgstac with psycopg 3 ({INSTALL}): {error}"
        ) from None
    return psycopg, PgstacDB, Loader, Methods


def _conninfo(dsn: str) -> str:
    dsn = dsn.strip()
    return dsn if "=" in dsn or "://" in dsn else f"service={dsn}"


class _Database:
    """A pypgstac database on one connection, closed at the end of the ``with`` block."""

    def __init__(self, dsn: str) -> None:
        self.psycopg, PgstacDB, self.Loader, self.Methods = _modules()  # noqa: N806
        try:
            self.db = PgstacDB(dsn=_conninfo(dsn))
            self.conn = self.db.connect()
        except Exception as error:  # psycopg's and the pool's own errors
            raise Ls4Error(f"pgSTAC: cannot connect: {_first_line(error)}") from error

    def __enter__(self) -> "_Database":
        self._check_schema()
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.close()

    def _check_schema(self) -> None:
        found = self.query("SELECT to_regnamespace('pgstac') IS NOT NULL")[0][0]
        if not found:
            raise Ls4Error(
                "pgSTAC: the database has no pgstac schema; an administrator makes it once "
                "with `pypgstac migrate --dsn <the database>`"
            )

    def query(self, text: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        try:
            with self.conn.cursor() as cur:
                cur.execute(text, params)
                return cur.fetchall() if cur.description else []
        except self.psycopg.Error as error:
            raise Ls4Error(f"pgSTAC: {_first_line(error)}") from error


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def mirror(
    dsn: str, collection_id: str, collection: Document | None, items: Mapping[str, Document]
) -> str:
    """Make pgSTAC hold exactly ``collection`` (a dict, or None: remove it) and ``items``
    ({id: dict}). Returns what changed, in words."""
    with _Database(dsn) as db:
        if collection is None:
            removed = _delete_collection(db, collection_id)
            return "collection removed" if removed else "nothing to remove"
        changed: list[str] = []
        current = db.query("SELECT content FROM pgstac.collections WHERE id = %s", (collection_id,))
        if not current or _normal(current[0][0]) != _normal(collection):
            _load(db, "collections", [collection])
            changed.append("collection loaded")
        before = dict(db.query(_ITEM_VERSIONS, (collection_id,)))
        if items:
            _load(db, "items", list(items.values()))
        after = dict(db.query(_ITEM_VERSIONS, (collection_id,)))
        stale = sorted(set(after) - set(items))
        if stale:
            db.query(
                "DELETE FROM pgstac.items WHERE collection = %s AND id = ANY(%s) RETURNING id",
                (collection_id, stale),
            )
        touched = sum(1 for key, value in after.items() if before.get(key) != value)
        if touched:
            changed.append(f"{touched} item(s) loaded")
        if stale:
            changed.append(f"{len(stale)} item(s) removed")
        return ", ".join(changed) or "unchanged"


# The row's system columns tell whether an upsert rewrote it (xmin changes on every update).
_ITEM_VERSIONS = "SELECT id, xmin::text FROM pgstac.items WHERE collection = %s"


def _load(db: _Database, table: str, documents: Sequence[Document]) -> None:
    loader = db.Loader(db.db)
    try:
        if table == "collections":
            loader.load_collections(iter(documents), insert_mode=db.Methods.upsert)
        else:
            loader.load_items(iter(documents), insert_mode=db.Methods.upsert)
    except db.psycopg.Error as error:
        raise Ls4Error(f"pgSTAC: loading {table} failed: {_first_line(error)}") from error
    except Exception as error:  # pypgstac raises plain Exception for version mismatches
        raise Ls4Error(f"pgSTAC: loading {table} failed: {_first_line(error)}") from error


def _delete_collection(db: _Database, collection_id: str) -> bool:
    found = db.query("SELECT 1 FROM pgstac.collections WHERE id = %s", (collection_id,))
    if not found:
        return False
    db.query("DELETE FROM pgstac.items WHERE collection = %s RETURNING id", (collection_id,))
    db.query("DELETE FROM pgstac.collections WHERE id = %s RETURNING id", (collection_id,))
    return True


def _normal(document: object) -> str:
    if isinstance(document, str):
        document = json.loads(document)
    return json.dumps(document, sort_keys=True)


def state(dsn: str, collection_id: str) -> tuple[Document | None, dict[str, Document]]:
    """``(collection or None, {item id: item})`` as pgSTAC returns them (items hydrated)."""
    with _Database(dsn) as db:
        found = db.query("SELECT content FROM pgstac.collections WHERE id = %s", (collection_id,))
        collection = _as_dict(found[0][0]) if found else None
        rows = db.query(
            "SELECT id, pgstac.get_item(id, collection) FROM pgstac.items WHERE collection = %s",
            (collection_id,),
        )
        return collection, {item_id: _as_dict(content) for item_id, content in rows}


def collection_ids(dsn: str) -> list[str]:
    with _Database(dsn) as db:
        return sorted(row[0] for row in db.query("SELECT id FROM pgstac.collections"))


def _as_dict(value: str | Document) -> Document:
    return json.loads(value) if isinstance(value, str) else value
