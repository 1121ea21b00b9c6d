"""The dock's list of files: what each one is, and its problems in a georeferencer's words.

Facts come from ``ls4:inspectraster`` (its JSON report); the only thing judged here without an
algorithm is the file name, which is pure grammar (``keys.parse_filename``).
"""

import json
import os
from dataclasses import dataclass, field

from qgis.PyQt.QtCore import QCoreApplication

from ..core import keys
from ..core.errors import InputError

TR_CONTEXT = "Ls4Files"

SCAN, FRAME, UNKNOWN, UNREADABLE = "scan", "frame", "unknown", "unreadable"
GEOREFERENCED_FOLDER = "georeferenced"  # where Apply .points writes, beside the scans
RASTER_SUFFIXES = (".tif", ".tiff")


def tr(text):
    return QCoreApplication.translate(TR_CONTEXT, text)


def kind_label(kind):
    return {
        SCAN: tr("Scan"),
        FRAME: tr("Frame"),
        UNKNOWN: tr("Checking…"),
        UNREADABLE: tr("Unreadable"),
    }[kind]


def band_label(band):
    return {"bw": tr("black and white"), "nc": tr("natural color")}.get(band, band)


@dataclass
class FileRow:
    """One file of the list and what is known about it."""

    path: str
    report: dict | None = None
    error: str = ""
    published: bool = False
    result: str = ""  # what the last upload or publish did with it, in words
    failed: bool = False  # whether that went wrong
    cog_url: str = ""  # public URL of its COG, once published
    stac_url: str = ""  # public URL of its STAC item, once published (when STAC is written)
    scan_of: str = ""  # for a frame georeferenced in the dock: its scan
    georeferenced_as: str = ""  # for a scan: the frame in the list made from it
    messages: list = field(default_factory=list)

    @property
    def name(self):
        return os.path.basename(self.path)

    @property
    def points_path(self):
        return self.path + ".points"

    @property
    def kind(self):
        if self.error:
            return UNREADABLE
        if self.report is None:
            return UNKNOWN
        return SCAN if self.report["georeferencing"] == "none" else FRAME

    @property
    def crs(self):
        return (self.report or {}).get("epsg") and f"EPSG:{self.report['epsg']}" or ""

    def set_report(self, report_json):
        self.report, self.error = json.loads(report_json), ""

    def bands_text(self):
        if self.report is None:
            return ""
        count = self.report["band_count"]
        layout = self.report.get("band_layout")
        return f"{count} ({layout})" if layout else str(count)

    def blocking_problems(self, collection, stored_band=""):
        """What keeps this file from being published (a frame) or uploaded (a scan).

        ``stored_band`` is the band layout the collection is published with ("" while it is
        not published or not looked up): a collection has one, so it decides what to advise."""
        if self.error:
            return [tr("Cannot be read: {}").format(self.error)]
        if self.report is None:
            return []
        problems = []
        if collection is not None:
            problems += name_problems(self.name, collection.type)
        if self.kind == SCAN:
            return problems
        problems += self._frame_problems(collection, stored_band)
        return problems

    def _frame_problems(self, collection, stored_band):
        report = self.report
        problems = []
        if not report.get("crs"):
            problems.append(
                tr("No coordinate system: set it (Layer Properties ▸ Source) and save a copy")
            )
        layout = report.get("band_layout")
        if not layout:
            problems.append(
                tr("Neither grayscale (1 band) nor colour (3 bands): {}").format(
                    report.get("band_layout_reason", "")
                )
            )
        elif collection is not None and stored_band and layout != stored_band:
            # the other band layout gives the same table, which holds these: it cannot join
            problems.append(
                tr(
                    "A {} image: {} is published in {}, and a collection has one band layout; "
                    "publish it as a collection of its own (another agency, year or type)"
                ).format(band_label(layout), collection.name, band_label(stored_band))
            )
        elif collection is not None and layout != collection.band:
            problems.append(
                tr("A {} image in a {} collection: choose the other band layout").format(
                    band_label(layout), band_label(collection.band)
                )
            )
        return problems

    def notes(self):
        """What a georeferencer should know that does not stop publishing."""
        if self.report is None:
            return []
        notes = []
        if self.kind == SCAN:
            if self.georeferenced_as:
                notes.append(
                    tr("Georeferenced as {}").format(
                        os.path.join(GEOREFERENCED_FOLDER, os.path.basename(self.georeferenced_as))
                    )
                )
            elif os.path.exists(self.points_path):
                notes.append(tr("Not georeferenced yet; its .points file is ready: Apply .points"))
            else:
                notes.append(
                    tr(
                        "Not georeferenced: open it in the Georeferencer and save the points "
                        "next to it ({})"
                    ).format(os.path.basename(self.points_path))
                )
        if self.report.get("nodata_problems"):
            notes.append(
                tr(
                    "Its NoData value does not fit its pixels ({}): the collar may not be clear"
                ).format("; ".join(self.report["nodata_problems"]))
            )
        return notes

    def ready(self, collection, stored_band=""):
        """Whether it can be published into ``collection`` as a frame."""
        return (
            self.kind == FRAME
            and collection is not None
            and not self.blocking_problems(collection, stored_band)
        )

    def status(self, collection, stored_band="", pending=False):
        """The Status column: what stops it, else what was done with it; then what to know.
        ``pending``: whether it is in ``collection`` is being looked up."""
        if self.kind == UNKNOWN:
            return tr("Checking…")
        words = self.blocking_problems(collection, stored_band) or self._state(collection, pending)
        return "; ".join(words + self.notes())

    def _state(self, collection, pending):
        if self.result:
            return [self.result]
        if self.published:
            return [tr("Published")]
        if self.kind != FRAME or collection is None:  # ready for no collection is not ready
            return []
        return [tr("Looking the collection up…")] if pending else [tr("Ready to publish")]


def name_problems(filename, collection_type):
    """The file name against the collection's rules, in words; [] when it fits."""
    try:
        keys.parse_filename(filename, collection_type)
    except InputError as error:
        example = {
            "frames": "04-15-52_12-034.tif",
            "index": "TxDOT_1952_3.tif",
            "mosaic": "mosaic_1.tif",
        }[collection_type]
        return [tr("Rename it like {} ({})").format(example, error)]
    return []


def is_raster_path(path):
    return os.path.isfile(path) and path.lower().endswith(RASTER_SUFFIXES)
