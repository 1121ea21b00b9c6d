"""Maintenance of the STAC catalog: where the static catalog, the COGs and pgSTAC disagree.

Hooked into ``maintenance.check`` and ``maintenance.repair`` when the target writes STAC. It
looks at the collections in scope that have STAC already (any object under
``stac/<collection>/``); a collection published before STAC existed gets its catalog from
``ls4:writestac``, not from maintenance.

Findings, and their repair:

- ``stac_item_without_cog``: an Item whose COG is gone: the Item and its thumbnail are deleted;
- ``stac_cog_without_item``: a COG (with its index row) that has no Item: the Item is written
  from the row and the COG (downloaded once);
- ``stac_item_outdated``: an Item written by an older LS4 (its ``stac_extensions`` lack one LS4
  writes now, e.g. the ``ls4`` extension): rewritten from the row and the COG, like a missing one;
- ``stac_collection_stale``: ``collection.json`` is not what its Items make (extent, item links)
  or is missing, or the root Catalog does not list exactly the collections, or the ``ls4:``
  extension's schema is missing or not the plugin's: they are rewritten;
- ``stac_pgstac_out_of_step``: pgSTAC does not hold the static Collection and Items (only when
  pgSTAC is configured): it is made to hold them.

Every repaired collection is then settled once: Collection, root Catalog and pgSTAC rewritten
from its Items (``stac.write_collection``), which is a no-op for what is already right.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING

from . import downloads, keys, maintenance, stac, storage, tileindex
from .errors import Canceled, InputError, Ls4Error
from .feedback import FeedbackLike, check_canceled
from .keys import Collection
from .pgstac import Document

if TYPE_CHECKING:  # maintenance imports this module: its names are for annotations only
    from .maintenance import Estate, Finding, Repair, Report, Scope
    from .publish import Target

ITEM_WITHOUT_COG = "stac_item_without_cog"
COG_WITHOUT_ITEM = "stac_cog_without_item"
ITEM_OUTDATED = "stac_item_outdated"
COLLECTION_STALE = "stac_collection_stale"
PGSTAC_OUT_OF_STEP = "stac_pgstac_out_of_step"
KINDS = (ITEM_WITHOUT_COG, COG_WITHOUT_ITEM, ITEM_OUTDATED, COLLECTION_STALE, PGSTAC_OUT_OF_STEP)


def _item_keys(estate: Estate, scope: Scope) -> dict[str, dict[str, str]]:
    """{collection name: {stem: item key}} of the Items in the listing, in scope."""
    found: dict[str, dict[str, str]] = {}
    for key in estate.keys:
        parts = key.split("/")
        is_item = len(parts) == 4 and parts[0] + "/" == stac.PREFIX and parts[2] == "items"
        if is_item and parts[1] in scope and parts[3].endswith(".json"):
            found.setdefault(parts[1], {})[parts[3][: -len(".json")]] = key
    return found


def _with_stac(estate: Estate, scope: Scope) -> set[str]:
    extensions = stac.EXTENSION_KEY.split("/")[1]  # not a collection (no collection has that name)
    names = {
        key.split("/")[1]
        for key in estate.keys
        if key.startswith(stac.PREFIX) and key.count("/") >= 2
    } - {extensions}
    return {name for name in names if name in scope}


def check(target: Target, estate: Estate, scope: Scope) -> list[Finding]:
    """The STAC findings of the estate ``maintenance.check`` read (no extra listing)."""
    if not stac.stac_settings(target).enabled:
        return []
    names = _with_stac(estate, scope)
    items = _item_keys(estate, scope)
    cogs: dict[str, dict[str, str]] = {}
    for key, parsed in estate.cogs.items():
        cogs.setdefault(parsed.collection.name, {})[stac.frame_stem(parsed.filename)] = key
    findings: list[Finding] = []
    for name in sorted(names):
        findings += _collection_findings(target, estate, name, items.get(name, {}), cogs)
    findings += _catalog_findings(target, estate, scope)
    return findings


def _collection_findings(
    target: Target,
    estate: Estate,
    name: str,
    item_keys: Mapping[str, str],
    cogs: Mapping[str, dict[str, str]],
) -> list[Finding]:
    findings: list[Finding] = []
    own_cogs = cogs.get(name, {})
    for stem, key in sorted(item_keys.items()):
        if stem not in own_cogs:
            findings.append(
                maintenance.Finding(ITEM_WITHOUT_COG, key, f"no COG {stem}.tif under cog/", name)
            )
    indexed = estate.tables.get(name, set())
    for stem, cog_key in sorted(own_cogs.items()):
        if stem not in item_keys:
            where = "" if storage.vsis3_path(target.s3, cog_key) in indexed else " (nor a row)"
            detail = f"no item {stac.item_key(name, stem)}{where}"
            findings.append(maintenance.Finding(COG_WITHOUT_ITEM, cog_key, detail, name))
    return findings + _document_findings(target, estate, name, own_cogs)


def _document_findings(
    target: Target, estate: Estate, name: str, own_cogs: Mapping[str, str]
) -> list[Finding]:
    """Items of an older LS4, and the Collection (and pgSTAC) of ``name`` against what its
    Items make."""
    findings: list[Finding] = []
    documents = stac.read_items(target, name)
    wanted_extensions = set(stac.item_extensions(target))
    for stem, document in sorted(documents.items()):
        missing = sorted(wanted_extensions - set(document.get("stac_extensions", [])))
        if missing and stem in own_cogs:
            detail = (
                f"item {stac.item_key(name, stem)} was written by an older LS4 (its "
                f"stac_extensions lack {', '.join(missing)})"
            )
            findings.append(maintenance.Finding(ITEM_OUTDATED, own_cogs[stem], detail, name))
    collection_key = stac.collection_key(name)
    wanted = _wanted_collection(target, name, documents, estate)
    if collection_key in estate.keys:
        current = stac.read_json(target.s3, collection_key)
        if wanted is None or stac.encode(current) != stac.encode(wanted):
            detail = "does not match its items (extent, item links)"
            if wanted is None:
                detail = "has no item left"
            findings.append(maintenance.Finding(COLLECTION_STALE, collection_key, detail, name))
    elif wanted is not None:
        findings.append(maintenance.Finding(COLLECTION_STALE, collection_key, "missing", name))
    if stac.stac_settings(target).pgstac:
        problem = _pgstac_problem(target, name, wanted, documents)
        if problem:
            findings.append(maintenance.Finding(PGSTAC_OUT_OF_STEP, name, problem, name))
    return findings


def _wanted_collection(
    target: Target, name: str, documents: Mapping[str, Document], estate: Estate
) -> Document | None:
    collection = _collection_of(target, name, documents)
    if collection is None or not documents:
        return None
    tile_index = downloads.index_key(name) in estate.keys
    return stac.build_collection(target, collection, list(documents.values()), tile_index)


def _collection_of(
    target: Target, name: str, documents: Mapping[str, Document]
) -> Collection | None:
    """The ``keys.Collection`` of ``name``, from one of its Items' COG href (names alone do not
    give the band layout)."""
    base = storage.public_url(target.s3, "")
    for document in documents.values():
        href = document.get("assets", {}).get("image", {}).get("href", "")
        if href.startswith(base):
            try:
                return keys.parse_key(href[len(base) :]).collection
            except InputError:
                continue
    return None


def _pgstac_problem(
    target: Target, name: str, wanted: Document | None, documents: Mapping[str, Document]
) -> str:
    from . import pgstac

    try:
        collection, items = pgstac.state(stac.pgstac_dsn(target), name)
    except Ls4Error as error:
        return str(error)
    if wanted is None:
        return "pgSTAC still holds the collection" if collection or items else ""
    if collection is None:
        return "pgSTAC has no collection"
    missing = sorted(set(documents) - set(items))
    extra = sorted(set(items) - set(documents))
    differ = sorted(
        item_id
        for item_id in set(items) & set(documents)
        if any(items[item_id].get(part) != documents[item_id].get(part) for part in _COMPARED)
    )
    problems: list[str] = []
    for words, ids in (
        ("missing", missing),
        ("not in the static catalog", extra),
        ("different", differ),
    ):
        if ids:
            problems.append(f"{len(ids)} item(s) {words} ({', '.join(ids[:5])})")
    if collection.get("extent") != wanted.get("extent"):
        problems.append("collection extent differs")
    return "; ".join(problems)


_COMPARED = ("properties", "assets", "bbox", "geometry", "stac_extensions")


def _catalog_findings(target: Target, estate: Estate, scope: Scope) -> list[Finding]:
    """The root Catalog must list exactly the collections that have a ``collection.json``;
    looked at when the run's scope covers one of them (or everything)."""
    names = sorted(
        key.split("/")[1]
        for key in estate.keys
        if key.startswith(stac.PREFIX) and key.endswith("/collection.json") and key.count("/") == 2
    )
    present = stac.CATALOG_KEY in estate.keys
    if not (names or present) or (scope.patterns and not any(n in scope for n in names)):
        return []
    findings: list[Finding] = []
    schema = stac.encode(stac.extension_schema(target))
    if stac.EXTENSION_KEY not in estate.keys:
        findings.append(maintenance.Finding(COLLECTION_STALE, stac.EXTENSION_KEY, "missing"))
    elif storage.get_bytes(target.s3, stac.EXTENSION_KEY) != schema:
        detail = "is not the ls4 extension schema of this plugin"
        findings.append(maintenance.Finding(COLLECTION_STALE, stac.EXTENSION_KEY, detail))
    wanted = stac.encode(stac.build_catalog(target, names))
    if present and storage.get_bytes(target.s3, stac.CATALOG_KEY) == wanted:
        return findings
    detail = "does not list exactly the collections under stac/" if present else "missing"
    return [*findings, maintenance.Finding(COLLECTION_STALE, stac.CATALOG_KEY, detail)]


# --- repair --------------------------------------------------------------------------------


def repair(target: Target, report: Report, feedback: FeedbackLike) -> None:
    """Repair the STAC findings of ``report`` after the other repairs (rows removed, COGs
    indexed), then settle every collection concerned."""
    touched: set[str] = set()
    for finding in (f for f in report.findings if f.kind in KINDS):
        check_canceled(feedback)
        if finding.kind == ITEM_WITHOUT_COG:
            done = _attempt("delete item", finding, partial(_delete_item, target, finding))
        elif finding.kind in (COG_WITHOUT_ITEM, ITEM_OUTDATED):
            done = _attempt("write item", finding, partial(_write_item, target, finding))
        else:
            done = None
        if done is not None:
            _record(report, finding, done, feedback)
        if finding.collection:
            touched.add(finding.collection)
        elif finding.subject in (stac.CATALOG_KEY, stac.EXTENSION_KEY):
            touched.add("")  # write_catalog writes both
    for name in sorted(touched):
        check_canceled(feedback)
        subject = stac.collection_key(name) if name else stac.CATALOG_KEY
        done = _attempt_plain("settle STAC", subject, partial(_settle, target, name))
        report.repairs.append(done)
        for finding in report.findings:
            if finding.kind in (COLLECTION_STALE, PGSTAC_OUT_OF_STEP) and (
                finding.collection == name
            ):
                finding.repaired = maintenance._outcome(done)
        say = feedback.pushInfo if done.ok else feedback.pushWarning
        say(f"{done.subject}: {done.message}")


def _record(report: Report, finding: Finding, done: Repair, feedback: FeedbackLike) -> None:
    report.repairs.append(done)
    finding.repaired = maintenance._outcome(done)
    say = feedback.pushInfo if done.ok else feedback.pushWarning
    say(f"{done.action} {done.subject}: {done.message}")


def _attempt(action: str, finding: Finding, work: Callable[[], str]) -> Repair:
    return _attempt_plain(action, finding.subject, work)


def _attempt_plain(action: str, subject: str, work: Callable[[], str]) -> Repair:
    try:
        return maintenance.Repair(action, subject, True, work())
    except Canceled:
        raise
    except Ls4Error as error:
        return maintenance.Repair(action, subject, False, str(error))


def _delete_item(target: Target, finding: Finding) -> str:
    name = finding.collection
    stem = finding.subject.rsplit("/", 1)[-1][: -len(".json")]
    if storage.object_metadata(target.s3, finding.subject) is None:
        return "already gone"
    stac.delete_item(target, name, stem)
    return "item and thumbnail deleted"


def _write_item(target: Target, finding: Finding) -> str:
    parsed = keys.parse_key(finding.subject)
    with tempfile.TemporaryDirectory(prefix="ls4-stac-") as folder:
        path = os.path.join(folder, parsed.filename)
        storage.download_file(target.s3, finding.subject, path)
        with target.connect() as conn:
            status = stac.write_item(target, parsed.collection, parsed.filename, path, conn)
    return f"item {status}"


def _settle(target: Target, name: str) -> str:
    if not name:
        return f"catalog {stac.write_catalog(target)}"
    documents = stac.read_items(target, name)
    collection = _collection_of(target, name, documents)
    if collection is None:
        # no Item left to tell the collection: remove what describes nothing
        storage.delete_keys(target.s3, [stac.collection_key(name)])
        outcome = {"collection": "deleted", "catalog": stac.write_catalog(target)}
        if stac.stac_settings(target).pgstac:
            from . import pgstac

            outcome["pgstac"] = pgstac.mirror(stac.pgstac_dsn(target), name, None, {})
        return _words(outcome)
    with target.connect() as conn, tileindex.derived_lock(conn, collection.table):
        return _words(stac.write_collection(target, collection))


def _words(outcome: Mapping[str, str]) -> str:
    return ", ".join(f"{part} {state}" for part, state in outcome.items())
