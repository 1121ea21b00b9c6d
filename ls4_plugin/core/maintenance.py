"""Maintenance: find where tile index tables, mapfiles and COGs disagree; repair when told.

``check`` only reads: it lists the bucket once, reads every table's locations and every mapfile,
and returns a ``Report`` of findings. ``repair`` acts on a report's findings, each repair on its
own (one S3 call or one transaction), re-checking its condition first so that a run racing with
a publish does not undo it.

What is repaired, and why:

- an object in ``mapfiles/`` that is not a ``.map``: deleted (MapServer never reads it);
- a row whose COG is gone: the row is removed (MapServer would fail on it);
- a COG that no row holds: indexed (footprint from the COG itself), its table created if need be;
- a table with no mapfile, or a mapfile that fails validation or reads another table: the
  mapfile is written again from the table; a table is never dropped;
- a mapfile whose table is gone: when the collection still has COGs, they are indexed (above) and
  the mapfile is written from the rebuilt table; when nothing of the collection is left under
  ``cog/``, the mapfile describes nothing and only makes the WMS answer errors, so it is deleted
  (a mapfile is always derived from its table: nothing is lost).

Reported only, since no software can make them right: a georeferenced upload whose scan is missing
from ``scanned/`` (the scan must be uploaded), a mapfile or table whose name is not a collection
name, a ``cog/`` or ``georef/`` key that breaks the key grammar, a row whose location is not a
COG of this bucket.
"""

import datetime
import fnmatch
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from . import keys, mapfile, publish, stac_maintenance, storage, tileindex, tiles, workspace
from .errors import Canceled, InputError, Ls4Error
from .feedback import FeedbackLike, SubFeedback, check_canceled, ensure
from .keys import ParsedKey

STRAY_OBJECT = "stray_object"
MAPFILE_BAD_NAME = "mapfile_bad_name"
MAPFILE_WITHOUT_TABLE = "mapfile_without_table"
MAPFILE_INVALID = "mapfile_invalid"
MAPFILE_WRONG_TABLE = "mapfile_wrong_table"
TABLE_WITHOUT_MAPFILE = "table_without_mapfile"
TABLE_NOT_A_COLLECTION = "table_not_a_collection"
ROW_WITHOUT_COG = "row_without_cog"
ROW_BAD_LOCATION = "row_bad_location"
COG_NOT_INDEXED = "cog_not_indexed"
KEY_BREAKS_GRAMMAR = "key_breaks_grammar"
SCAN_MISSING = "scan_missing"
INCOMPLETE_UPLOAD = "incomplete_upload"
STALE_TEMP_FOLDER = "stale_temp_folder"
DUPLICATE_FRAME = "duplicate_frame"
# A multipart upload or a run folder younger than this may belong to a run still going.
STALE_AFTER = 6 * 3600.0

MAPFILE_KINDS = (MAPFILE_WITHOUT_TABLE, MAPFILE_INVALID, MAPFILE_WRONG_TABLE, TABLE_WITHOUT_MAPFILE)
NOT_REPAIRABLE = {
    SCAN_MISSING: "not repairable: upload the scan",
    MAPFILE_BAD_NAME: "not repairable: rename or delete it by hand",
    TABLE_NOT_A_COLLECTION: "not repairable: not an LS4 collection table",
    KEY_BREAKS_GRAMMAR: "not repairable: move it to a key that follows the layout",
    ROW_BAD_LOCATION: "not repairable: fix or delete the row by hand",
    DUPLICATE_FRAME: "not repairable: one frame under two extensions; delete the later by hand",
}
# The stages whose keys the pipeline writes, so a key there that breaks the grammar is a mistake.
CHECKED_STAGES = ("georef", "cog")


@dataclass
class Finding:
    """One mismatch. ``subject`` is the S3 key, table or row location at fault."""

    kind: str
    subject: str
    detail: str
    collection: str = ""
    repaired: str = ""
    reference: str = ""  # what a repair needs besides the subject (a multipart upload's id)


@dataclass
class Repair:
    """One action taken by ``repair`` and its outcome (``ok`` False: it failed, see message)."""

    action: str
    subject: str
    ok: bool
    message: str


@dataclass
class Report:
    bucket: str
    database: str
    scope: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    repaired: bool = False
    notification: str = ""
    unmatched: list[str] = field(default_factory=list)  # COLLECTIONS patterns that matched nothing

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def count_by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[finding.kind] = counts.get(finding.kind, 0) + 1
        return counts

    def subject(self) -> str:
        """A one-line title for a notification."""
        if not self.findings:
            return f"LS4 maintenance of {self.bucket}: no findings"
        state = "repaired" if self.repaired else "found"
        return f"LS4 maintenance of {self.bucket}: {len(self.findings)} finding(s) {state}"

    def summary(self, max_lines: int = 200) -> str:
        """The report as plain text: what was checked, counts by kind, then one line a finding."""
        scope = ", ".join(self.scope) if self.scope else "everything"
        checked = ", ".join(f"{count} {what}" for what, count in self.checked.items())
        lines = [
            f"LS4 maintenance of bucket {self.bucket} and database {self.database} "
            f"(scope: {scope})",
            f"Checked {checked}.",
        ]
        lines += [
            f"COLLECTIONS pattern {pattern!r} matches no table, mapfile or key: nothing of it "
            "was checked"
            for pattern in self.unmatched
        ]
        if not self.findings:
            return "\n".join(lines + ["No findings: tables, mapfiles and COGs agree."])
        state = "REPAIR on" if self.repaired else "REPAIR off: nothing was changed"
        lines.append(f"{len(self.findings)} finding(s) ({state}):")
        lines += [f"  {kind}: {count}" for kind, count in sorted(self.count_by_kind().items())]
        for finding in self.findings[:max_lines]:
            outcome = f" [{finding.repaired}]" if finding.repaired else ""
            lines.append(f"- {finding.kind} {finding.subject}: {finding.detail}{outcome}")
        if len(self.findings) > max_lines:
            lines.append(f"... and {len(self.findings) - max_lines} more (see the JSON report)")
        return "\n".join(lines)


class Scope:
    """Which collections a run looks at: glob patterns of collection names (none: all).

    Objects and tables that belong to no collection (a stray ``notes.txt``) are matched by their
    file or table name.
    """

    def __init__(self, patterns: Iterable[str] | None = ()) -> None:
        self.patterns = [p.strip() for p in patterns or () if p and p.strip()]
        self.matched: set[str] = set()

    def __contains__(self, name: str) -> bool:
        if not self.patterns:
            return True
        hits = {p for p in self.patterns if fnmatch.fnmatchcase(name, p)}
        self.matched |= hits
        return bool(hits)

    def unmatched(self) -> list[str]:
        return [p for p in self.patterns if p not in self.matched]


@dataclass
class Estate:
    """What ``check`` read: table locations, the bucket's keys, the mapfiles in scope."""

    tables: dict[str, set[str]] = field(default_factory=dict)  # collection table -> locations
    other_tables: list[str] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    mapfiles: dict[str, str] = field(default_factory=dict)  # collection name -> key
    cogs: dict[str, ParsedKey] = field(default_factory=dict)  # key -> its parts, in scope


# --- check ---------------------------------------------------------------------------------


def check(
    target: "publish.Target",
    patterns: Iterable[str] | None = (),
    feedback: FeedbackLike | None = None,
    stale_after: float = STALE_AFTER,
    temp_root: str | None = None,
) -> Report:
    """Compare tables, mapfiles and objects of ``target`` (a ``publish.Target``); changes nothing.

    ``patterns``: glob patterns of collection names to look at (empty: the whole estate).
    Also found: multipart uploads left incomplete and LS4 run folders of this machine whose run
    is gone (``temp_root``: the temporary folder), both older than ``stale_after`` seconds.
    """
    feedback = ensure(feedback)
    scope = Scope(patterns)
    report = Report(bucket=target.s3.bucket, database="", scope=scope.patterns)
    estate = Estate()
    with target.connect() as conn:
        report.database = _describe_database(conn)
        _read_tables(conn, estate, scope, SubFeedback(feedback, 0, 40))
    _read_keys(target, estate, scope, SubFeedback(feedback, 40, 70))
    report.findings += _mapfile_objects(estate, scope)
    report.findings += _mapfile_contents(target, estate, SubFeedback(feedback, 70, 95))
    for rule in (_tables_without_mapfile, _rows_without_cog, _cogs_not_indexed):
        report.findings += rule(target, estate)
    report.findings += _scans_missing(estate, scope)
    report.findings += stac_maintenance.check(target, estate, scope)
    report.findings += _duplicate_frames(estate, scope)
    report.findings += _incomplete_uploads(target, scope, stale_after)
    report.findings += [
        Finding(STALE_TEMP_FOLDER, path, f"{reason}; {workspace.folder_size(path)} bytes")
        for path, reason in workspace.stale_folders(temp_root, stale_after)
    ]
    report.checked = _checked(estate)
    report.unmatched = scope.unmatched()
    for pattern in report.unmatched:
        feedback.pushWarning(f"COLLECTIONS pattern {pattern!r} matches nothing: not checked")
    feedback.setProgress(100)
    return report


def _duplicate_frames(estate: Estate, scope: Scope) -> list[Finding]:
    """Two COGs of one frame, ``X.tif`` and ``X.TIF``: the one its table holds is the frame."""
    seen: dict[str, list[str]] = {}
    findings: list[Finding] = []
    for key in sorted(estate.cogs):
        seen.setdefault(keys.comparable_key(key), []).append(key)
    for group in seen.values():
        rows = estate.tables.get(estate.cogs[group[0]].collection.table, set())
        group.sort(key=lambda k: not any(location.endswith("/" + k) for location in rows))
        for later in group[1:]:
            detail = f"the same frame as {group[0]} (file name extensions differ only in case)"
            collection = estate.cogs[later].collection.name
            findings.append(Finding(DUPLICATE_FRAME, later, detail, collection))
    return findings


def _incomplete_uploads(
    target: "publish.Target", scope: Scope, stale_after: float
) -> list[Finding]:
    findings: list[Finding] = []
    now = datetime.datetime.now(datetime.timezone.utc)
    for key, upload_id, initiated in storage.incomplete_uploads(target.s3):
        age = (now - initiated).total_seconds()
        parsed = _parse_key(key)
        name = parsed.collection.name if parsed else os.path.basename(key)
        if age < stale_after or name not in scope:
            continue
        detail = f"multipart upload begun {initiated:%Y-%m-%d %H:%M:%S} UTC, never completed"
        findings.append(
            Finding(INCOMPLETE_UPLOAD, key, detail, name if parsed else "", reference=upload_id)
        )
    return findings


def _describe_database(conn: tileindex.Connection) -> str:
    return tileindex.describe(conn)


def _read_tables(
    conn: tileindex.Connection, estate: Estate, scope: Scope, feedback: FeedbackLike
) -> None:
    names = tileindex.list_tables(conn)
    for number, table in enumerate(names):
        check_canceled(feedback)
        if table not in scope:
            continue
        try:
            keys.parse_name(table)
        except InputError:
            estate.other_tables.append(table)
            continue
        estate.tables[table] = tileindex.locations(conn, table)
        feedback.setProgress(100.0 * (number + 1) / len(names))


def _read_keys(
    target: "publish.Target", estate: Estate, scope: Scope, feedback: FeedbackLike
) -> None:
    for number, key in enumerate(storage.list_keys(target.s3)):
        if number % 1000 == 0:
            check_canceled(feedback)
        estate.keys.add(key)
        if _stage_of(key) == "cog":
            parsed = _parse_key(key)
            if parsed is not None and parsed.collection.name in scope:
                estate.cogs[key] = parsed
    feedback.setProgress(100)


def _stage_of(key: str) -> str | None:
    parts = key.split("/")
    return parts[4] if len(parts) == 6 else None


def _parse_key(key: str) -> ParsedKey | None:
    try:
        return keys.parse_key(key)
    except InputError:
        return None


def _mapfile_objects(estate: Estate, scope: Scope) -> list[Finding]:
    """Stray objects and oddly named mapfiles in ``mapfiles/``; records the good ones."""
    findings: list[Finding] = []
    for key in sorted(k for k in estate.keys if k.startswith(keys.MAPFILES_PREFIX)):
        base = key[len(keys.MAPFILES_PREFIX) :]
        if not key.endswith(".map"):
            if base in scope:
                findings.append(
                    Finding(STRAY_OBJECT, key, "not a mapfile (.map): MapServer never reads it")
                )
            continue
        try:
            name = keys.name_from_mapfile_key(key)
        except InputError as error:
            if base in scope:
                findings.append(Finding(MAPFILE_BAD_NAME, key, str(error)))
            continue
        if name in scope:
            estate.mapfiles[name] = key
    return findings


def _mapfile_contents(
    target: "publish.Target", estate: Estate, feedback: FeedbackLike
) -> list[Finding]:
    findings: list[Finding] = []
    s3 = storage.client(target.s3)
    names = sorted(estate.mapfiles)
    for number, name in enumerate(names):
        check_canceled(feedback)
        key = estate.mapfiles[name]
        if name in estate.tables:
            text = storage.get_bytes(target.s3, key, s3).decode("utf-8", errors="replace")
            findings += _mapfile_problems(name, key, text)
        else:
            cogs = sum(1 for parsed in estate.cogs.values() if parsed.collection.name == name)
            detail = f"table {name} does not exist; {cogs} COG(s) of the collection under cog/"
            findings.append(Finding(MAPFILE_WITHOUT_TABLE, key, detail, name))
        feedback.setProgress(100.0 * (number + 1) / len(names))
    return findings


def _mapfile_problems(name: str, key: str, text: str) -> list[Finding]:
    try:
        mapdict = mapfile.parse(text)
    except InputError as error:
        return [Finding(MAPFILE_INVALID, key, str(error), name)]
    problems = mapfile.validate(mapdict)
    if problems:
        return [Finding(MAPFILE_INVALID, key, "; ".join(problems), name)]
    table = mapfile.index_table(mapdict)
    if table != name:
        return [Finding(MAPFILE_WRONG_TABLE, key, f"its index layer reads table {table}", name)]
    return []


def _tables_without_mapfile(target: "publish.Target", estate: Estate) -> list[Finding]:
    findings = [
        Finding(TABLE_NOT_A_COLLECTION, table, "has the tile index columns but no collection name")
        for table in estate.other_tables
    ]
    for table, locations in sorted(estate.tables.items()):
        # An empty index has no mapfile by design (publish writes none): nothing to serve.
        if locations and table not in estate.mapfiles:
            detail = f"{len(locations)} row(s) but no {keys.mapfile_key(table)}"
            findings.append(Finding(TABLE_WITHOUT_MAPFILE, table, detail, table))
    return findings


def _rows_without_cog(target: "publish.Target", estate: Estate) -> list[Finding]:
    findings: list[Finding] = []
    for table, locations in sorted(estate.tables.items()):
        for location in sorted(locations):
            problem = _row_problem(target, estate, location)
            if problem:
                findings.append(Finding(*problem, table))
    return findings


def _row_problem(
    target: "publish.Target", estate: Estate, location: str
) -> tuple[str, str, str] | None:
    try:
        bucket, key = keys.split_location(location)
    except InputError as error:
        return ROW_BAD_LOCATION, location, str(error)
    if bucket != target.s3.bucket:
        return ROW_BAD_LOCATION, location, f"not in bucket {target.s3.bucket}"
    if key not in estate.keys:
        return ROW_WITHOUT_COG, location, f"the COG s3://{bucket}/{key} is gone"
    return None


def _cogs_not_indexed(target: "publish.Target", estate: Estate) -> list[Finding]:
    findings: list[Finding] = []
    for key, parsed in sorted(estate.cogs.items()):
        table = parsed.collection.table
        location = storage.vsis3_path(target.s3, key)
        if location in estate.tables.get(table, ()):
            continue
        where = f"table {table}" if table in estate.tables else f"table {table} (missing)"
        findings.append(Finding(COG_NOT_INDEXED, key, f"no row of {where} holds it", table))
    return findings


def _scans_missing(estate: Estate, scope: Scope) -> list[Finding]:
    scans = {
        _comparable(key) for key in estate.keys if _stage_of(key) == "scanned" and _parse_key(key)
    }
    findings: list[Finding] = []
    for key in sorted(k for k in estate.keys if _stage_of(k) in CHECKED_STAGES):
        parsed = _parse_key(key)
        if parsed is None:
            if os.path.basename(key) in scope:
                findings.append(Finding(KEY_BREAKS_GRAMMAR, key, _grammar_error(key)))
            continue
        if parsed.stage != "georef" or parsed.collection.name not in scope:
            continue
        scan = keys.scan_key(key)
        if scan is not None and _comparable(scan) not in scans:
            detail = f"no scan at {scan} (.tif or .TIF)"
            findings.append(Finding(SCAN_MISSING, key, detail, parsed.collection.name))
    return findings


def _comparable(key: str) -> str:
    return keys.comparable_key(key)


def _grammar_error(key: str) -> str:
    try:
        keys.parse_key(key)
    except InputError as error:
        return str(error)
    return ""


def _checked(estate: Estate) -> dict[str, int]:
    return {
        "tables": len(estate.tables) + len(estate.other_tables),
        "rows": sum(len(locations) for locations in estate.tables.values()),
        "mapfiles": len(estate.mapfiles),
        "COGs": len(estate.cogs),
        "objects": len(estate.keys),
    }


# --- repair --------------------------------------------------------------------------------


def repair(
    target: "publish.Target", report: Report, feedback: FeedbackLike | None = None
) -> list[Repair]:
    """Repair the findings of ``report`` (see the module's notes); returns the repairs made.

    Each repair is one S3 call or one transaction and is recorded in ``report.repairs`` and in
    its finding's ``repaired``. A repair that fails is recorded and the others go on; on cancel,
    the repairs done so far stay (each is complete) and ``Canceled`` is raised.
    """
    feedback = ensure(feedback)
    report.repaired = True
    findings = report.findings
    steps = (
        (STRAY_OBJECT, _delete_stray),
        (ROW_WITHOUT_COG, _remove_row),
        (COG_NOT_INDEXED, _index_orphan),
        (INCOMPLETE_UPLOAD, _abort_upload),
        (STALE_TEMP_FOLDER, _remove_folder),
    )
    touched: set[str] = set()
    total = max(len(findings), 1)
    done = 0
    for kind, action in steps:
        for finding in (f for f in findings if f.kind == kind):
            check_canceled(feedback)
            _record(report, finding, action(target, finding), feedback)
            if kind in (ROW_WITHOUT_COG, COG_NOT_INDEXED) and report.repairs[-1].ok:
                touched.add(finding.collection)
            done += 1
            feedback.setProgress(90.0 * done / total)
    _settle_mapfiles(target, report, touched, feedback)
    stac_maintenance.repair(target, report, feedback)
    for finding in findings:
        finding.repaired = finding.repaired or NOT_REPAIRABLE.get(finding.kind, "")
    feedback.setProgress(100)
    return report.repairs


def _record(report: Report, finding: Finding, repair_done: Repair, feedback: FeedbackLike) -> None:
    report.repairs.append(repair_done)
    finding.repaired = _outcome(repair_done)
    say = feedback.pushInfo if repair_done.ok else feedback.pushWarning
    say(f"{repair_done.action} {repair_done.subject}: {repair_done.message}")


def _outcome(repair_done: Repair) -> str:
    return repair_done.message if repair_done.ok else f"failed: {repair_done.message}"


def _attempt(action: str, subject: str, work: Callable[[], str]) -> Repair:
    """Run one repair; an ``Ls4Error`` is recorded as a failed repair, not raised."""
    try:
        return Repair(action, subject, True, work())
    except Canceled:
        raise
    except Ls4Error as error:
        return Repair(action, subject, False, str(error))


def _delete_stray(target: "publish.Target", finding: Finding) -> Repair:
    def work() -> str:
        storage.delete_keys(target.s3, [finding.subject])
        return "deleted"

    return _attempt("delete object", finding.subject, work)


def _abort_upload(target: "publish.Target", finding: Finding) -> Repair:
    def work() -> str:
        storage.abort_upload(target.s3, finding.subject, finding.reference)
        return "aborted (its parts are deleted)"

    return _attempt("abort multipart upload", finding.subject, work)


def _remove_folder(target: "publish.Target", finding: Finding) -> Repair:
    def work() -> str:
        shutil.rmtree(finding.subject, ignore_errors=True)
        if os.path.exists(finding.subject):
            raise Ls4Error(f"{finding.subject} could not be removed")
        return "removed"

    return _attempt("remove folder", finding.subject, work)


def _remove_row(target: "publish.Target", finding: Finding) -> Repair:
    def work() -> str:
        _bucket, key = keys.split_location(finding.subject)
        if storage.exists(target.s3, key):
            return "kept: the COG is there again"
        with target.connect() as conn:
            outline = tileindex.footprint_of(conn, finding.collection, finding.subject)
            removed = tileindex.delete_rows(conn, finding.collection, [finding.subject])
        if removed and outline is not None:  # its cached tiles still show the frame
            tiles.invalidate_footprints(
                target.map_dir, finding.collection, [outline], target.s3_tile_cache()
            )
        return "row removed" if removed else "already gone"

    return _attempt(f"remove row of {finding.collection}", finding.subject, work)


def _index_orphan(target: "publish.Target", finding: Finding) -> Repair:
    def work() -> str:
        parsed = keys.parse_key(finding.subject)
        with tempfile.TemporaryDirectory(prefix="ls4-maintenance-") as folder:
            path = os.path.join(folder, parsed.filename)
            storage.download_file(target.s3, finding.subject, path)
            status = publish.index_cog(target, parsed.collection, path, parsed.filename)
        return f"indexed in {parsed.collection.table} ({status})"

    return _attempt("index COG", finding.subject, work)


def _settle_mapfiles(
    target: "publish.Target", report: Report, touched: set[str], feedback: FeedbackLike
) -> None:
    """Write (or delete) the mapfile of every collection a finding or a repair concerns."""
    by_name: dict[str, list[Finding]] = {}
    for finding in report.findings:
        if finding.kind in MAPFILE_KINDS:
            by_name.setdefault(finding.collection, []).append(finding)
    for name in sorted(set(by_name) | touched):
        check_canceled(feedback)
        repair_done = _attempt("mapfile", keys.mapfile_key(name), partial(_settle, target, name))
        report.repairs.append(repair_done)
        for finding in by_name.get(name, []):
            finding.repaired = _outcome(repair_done)
        say = feedback.pushInfo if repair_done.ok else feedback.pushWarning
        say(f"{repair_done.subject}: {repair_done.message}")


def _settle(target: "publish.Target", name: str) -> str:
    """The mapfile of ``name`` written from its table; deleted when there is no table to serve."""
    with target.connect() as conn:
        exists = tileindex.table_exists(conn, name)
        location = tileindex.first_location(conn, name) if exists else None
        collection = publish.stored_collection(conn, name) if location else None
    key = keys.mapfile_key(name)
    if location is None:
        if exists:
            return "left as is: the table is empty"
        if not storage.exists(target.s3, key):
            return "nothing to do: no table and no mapfile"
        storage.delete_keys(target.s3, [key])
        _remove_local_copy(target, name)
        return "deleted: no table and no COG of the collection to rebuild one from"
    if collection is None:
        raise InputError(f"table {name}: its first row {location!r} names no collection's key")
    publish.publish_mapfile(target, collection)
    return f"written from table {name}"


def _remove_local_copy(target: "publish.Target", name: str) -> None:
    if target.map_dir:
        path = os.path.join(target.map_dir, f"{name}.map")
        if os.path.exists(path):
            os.remove(path)
