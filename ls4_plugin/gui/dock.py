"""The LS4 dock: one collection from scans to a checked WMS, without leaving QGIS.

Everything the dock does to files, S3, PostGIS or MapServer is a Processing algorithm run as a
task (``jobs.AlgorithmJob``), so it is what the modeler and the batch dialog run. The dock itself
only judges names (pure grammar) and, on the main thread, adds the results to the project.
"""

import json
import os
from dataclasses import replace
from html import escape as html_escape

from osgeo import gdal
from qgis.core import (
    QgsApplication,
    QgsCoordinateTransform,
    QgsDatumTransform,
    QgsFillSymbol,
    QgsProject,
    QgsRasterLayer,
    QgsSettings,
)
from qgis.gui import QgsDockWidget
from qgis.PyQt.QtCore import QCoreApplication, QFileSystemWatcher, Qt, QTimer
from qgis.PyQt.QtWidgets import QCompleter, QFileDialog

from .. import settings
from ..compat import QAction
from ..core import counties, keys, urls
from ..core.errors import InputError
from .dock_ui import build_ui
from .files import FRAME, GEOREFERENCED_FOLDER, SCAN, FileRow, band_label, is_raster_path
from .jobs import AlgorithmJob
from .messages import localize
from .widgets import gdal_path

TR_CONTEXT = "Ls4Dock"
PREVIEW_GROUP = "LS4 preview"
GEOREFERENCER_ACTIONS = ("mActionShowGeoreferencer", "mActionRunGeoref")
GEOREFERENCER_DIR_SETTING = "Plugin-GeoReferencer/rasterdirectory"
BAND_CHOICES = ("auto", "bw", "nc")  # the algorithms' BAND_LAYOUT options
LOOKUP_RETRY_MS = 10000
OUTCOMES = ("published", "unchanged", "failed", "not attempted")  # publishcollection's statuses


def escape(text):
    return html_escape(str(text), quote=False)


def quoted(value):
    """A value as the core quotes it in its messages ('Travs')."""
    return repr(str(value))


def tr(text):
    return QCoreApplication.translate(TR_CONTEXT, text)


class Ls4Dock(QgsDockWidget):
    """The georeferencer's panel. Public methods are what its buttons do."""

    def __init__(self, iface, parent=None):
        super().__init__(tr("LS4 — publish a collection"), parent)
        self.setObjectName("Ls4Dock")
        self.iface = iface
        self.rows = []
        self.collection = None  # the collection the dock works on (None: none, or not yet taken)
        self.named = None  # the collection the form names, its county on the list or not
        self.off_list = ""  # the county list's refusal of its county ("": listed, or none)
        self.taken = None  # ``named`` as the look-up took it: off the list, but published
        self.info = {}
        self.published_agencies = []  # as the published collections spell them
        self.stored_band = ""  # the band layout the collection is published with, if it is
        self.main_job = None
        self.jobs = set()
        self.preview_layer_ids = []
        self._georef_queue = []
        self.ui = build_ui(self)
        self.setWidget(self.ui.root)
        self._info_timer = QTimer(self)
        self._info_timer.setSingleShot(True)
        self._info_timer.setInterval(400)
        self._info_timer.timeout.connect(self.refresh_collection_info)
        # a look-up that failed (a service down) is tried again until it answers
        self._retry_timer = QTimer(self)
        self._retry_timer.setSingleShot(True)
        self._retry_timer.setInterval(LOOKUP_RETRY_MS)
        self._retry_timer.timeout.connect(self.refresh_collection_info)
        self.looked_up = False  # whether the current collection's look-up has answered
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._show_rows)
        self._connect()
        self.update_completions()
        self.refresh_published_agencies()
        self.update_collection()

    def _connect(self):
        ui = self.ui
        for edit in (ui.county, ui.agency, ui.year):
            edit.textChanged.connect(self.update_collection)
        for combo in (ui.type, ui.band):
            combo.currentIndexChanged.connect(self.update_collection)
        ui.add_files.clicked.connect(self.choose_files)
        ui.layers_menu.aboutToShow.connect(self._fill_layers_menu)
        ui.remove.clicked.connect(self.remove_selected)
        ui.table.files_dropped.connect(self.add_files)
        ui.table.itemSelectionChanged.connect(self.update_buttons)
        ui.table.itemSelectionChanged.connect(self.show_details)
        ui.apply_points.clicked.connect(self.apply_points)
        ui.georeferencer.clicked.connect(self.open_georeferencer)
        ui.preview.clicked.connect(self.preview)
        ui.upload.clicked.connect(self.upload_scans)
        ui.publish.clicked.connect(self.publish)
        ui.cancel.clicked.connect(self.cancel)
        ui.check.clicked.connect(self.check)
        ui.settings.clicked.connect(self.open_settings)
        ui.apply_policy.clicked.connect(self.apply_public_policy)

    # --- the collection ------------------------------------------------------------------

    def collection_fields(self):
        """The form as the algorithms' collection parameters (the county as the list spells it)."""
        county = self.ui.county.text().strip()
        known = county and self.county_list().find(county)
        county = known.name if known else county
        when = self.ui.year.text().strip()
        return {
            "COUNTY": county,
            "AGENCY": self.ui.agency.text().strip(),
            "YEAR": when if county else "",
            "MISSION": "" if county else when,
            "TYPE": self.ui.type.currentIndex(),
            "BAND_LAYOUT": BAND_CHOICES.index(self.ui.band.currentData()),
        }

    def read_collection(self):
        """``(Collection, "", off_list)`` when the form names a valid collection, else
        ``(None, why, "")``. ``off_list`` is the county list's refusal of a county it does not
        hold ("" for a listed county): such a collection is taken only when the look-up finds
        it published (as the algorithms take it), which is for ``ls4:collectioninfo`` to say."""
        fields = self.collection_fields()
        if not fields["AGENCY"]:
            return None, tr("Enter the agency that flew the photographs (e.g. TxDOT)."), ""
        if not (fields["YEAR"] or fields["MISSION"]):
            if fields["COUNTY"]:
                return None, tr("Enter the year of the flight (four digits)."), ""
            why = tr("Enter the mission code of the multi-county flight (e.g. AR-1963).")
            return None, why, ""
        try:
            collection = keys.collection_from_form(fields, self.ui.band.currentData())
        except InputError as error:
            return None, tr("Not a valid collection: {}").format(localize(error)), ""
        off_list = ""
        if fields["COUNTY"]:
            try:
                self.county_list().canonical(fields["COUNTY"])
            except InputError as error:
                off_list = str(error)
        return collection, "", off_list

    def update_completions(self):
        """County and Agency offer, as one types, the names they know: the county list's, and
        the agencies of LS4 settings (keys/agencies) as keys spell them ("tx" -> TxDOT), then
        those of the collections already published (``refresh_published_agencies``)."""
        agencies = {name.lower(): name for name in reversed(self.published_agencies)}
        agencies.update({name.lower(): name for name in settings.agencies()})
        names = {
            self.ui.county: [county.name for county in self.county_list().counties],
            self.ui.agency: list(agencies.values()),
        }
        for edit, choices in names.items():
            completer = QCompleter(sorted(choices, key=str.lower), edit)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            edit.setCompleter(completer)

    def refresh_published_agencies(self):
        """Ask ``ls4:publishedcollections`` (in the background) which agencies the published
        collections have, and offer them too. Not known (no database yet): the settings' only."""
        if not settings.value("postgres/connection"):
            return  # nothing to ask yet (a first start): no refusal for the log panel
        job = self._background(
            "ls4:publishedcollections", {}, tr("LS4: list the published collections")
        )
        job.done.connect(lambda ok, results: self._agencies_listed(ok, results))

    def _agencies_listed(self, ok, results):
        if ok:  # else its error is in the log panel; the completion keeps what it had
            self.published_agencies = [n for n in results["AGENCIES"].splitlines() if n]
            self.update_completions()

    def county_list(self):
        """The counties a collection may name (LS4 setting keys/county_list, default Texas's)."""
        try:
            return settings.county_list()
        except InputError as error:  # a broken custom list: say so, judge by the shipped one
            message = tr("The county list in the LS4 settings is unusable: {}")
            self.say(message.format(localize(error)), True)
            return counties.load()

    def update_collection(self):
        self.ui.year_label.setText(tr("Year") if self.ui.county.text().strip() else tr("Mission"))
        named, reason, off_list = self.read_collection()
        changed = named != self.named
        if changed:
            self.taken = None  # what a look-up took was another collection
        self.named, self.off_list = named, off_list
        self.collection = self.taken if off_list else named
        self._show_names(reason)
        collection = self.collection
        if changed:
            self.info, self.stored_band, self.looked_up = {}, "", False
            self._retry_timer.stop()
            if named is not None and collection is None:
                looking = tr("Looking for a collection published under {}…")
                self.ui.exists.setText(looking.format(quoted(self.collection_fields()["COUNTY"])))
            else:
                self.ui.exists.setText(tr("Looking the collection up…") if collection else "")
            self.ui.capabilities.setText("")
            for row in self.rows:
                row.published, row.cog_url, row.result, row.failed = False, "", "", False
            if not self._main_running():  # what the last job said was of another collection
                self.ui.progress.setValue(0)
                self.ui.progress.setFormat("")
                self.ui.message.setText("")
            if named is not None:
                self._info_timer.start()
        self._show_rows()

    def _show_names(self, reason):
        """The names the form gives, or why it gives none (``reason``, or the county list's
        refusal of a county no published collection has)."""
        if self.named is None:
            self.ui.collection.setText(f"<span style='color:#b00020'>{escape(reason)}</span>")
        elif self.collection is None:
            refusal = tr("Not a valid collection: {}").format(localize(self.off_list))
            self.ui.collection.setText(f"<span style='color:#b00020'>{escape(refusal)}</span>")
        else:
            text = describe(self.collection)
            if self.off_list:
                note = tr("{} is not in the county list; taken, as {} is already published.")
                county = quoted(self.collection_fields()["COUNTY"])
                text += "<br>" + escape(note.format(county, self.collection.name))
            self.ui.collection.setText(text)

    def refresh_collection_info(self, then=None):
        """Ask ``ls4:collectioninfo`` whether the collection exists and which frames it has;
        ``then()`` once the answer is shown."""
        if self.named is None:
            return
        params = dict(self.collection_fields())
        params.pop("BAND_LAYOUT")
        asked = self.named
        job = self._background(
            "ls4:collectioninfo", params, tr("LS4: look up {}").format(asked.name)
        )
        job.done.connect(lambda ok, results: self._info_done(asked, job, ok, results, then))

    def _info_done(self, asked, job, ok, results, then=None):
        if asked != self.named:
            return  # the form changed meanwhile; a newer look-up is on its way
        if not ok:
            reason = tr("Cannot look the collection up: {}").format(job.error_text())
            reason += " " + tr("(Trying again every {} s.)").format(LOOKUP_RETRY_MS // 1000)
            self.ui.exists.setText(f"<span style='color:#b00020'>{escape(reason)}</span>")
            self.ui.capabilities.setText("")  # what it linked to is not known any more
            self.info, self.stored_band, self.looked_up = {}, "", False
            self._retry_timer.start()
            self._show_rows()
            return
        self._retry_timer.stop()
        if self.off_list and not self._take_off_list(asked, results):
            return
        self.info, self.looked_up = results, True
        self.stored_band = results.get("BAND_LAYOUT") or ""
        frames = {frame["file"]: frame for frame in json.loads(results["FRAMES"])}
        for row in self.rows:
            frame = frames.get(row.name) if row.kind == FRAME else None
            row.published = frame is not None
            row.cog_url = frame["dl_georef"] if frame else ""
            row.stac_url = frame.get("stac_item", "") if frame else ""
        count = int(results["FRAME_COUNT"])
        if self.stored_band and self.stored_band != asked.band:
            text = tr(
                "{} is published in {} ({} frame(s)): a collection has one band layout, so {} "
                "frames cannot join it. Publish them as a collection of their own (another "
                "agency, year or type)."
            ).format(asked.name, band_label(self.stored_band), count, band_label(asked.band))
            text = f"<span style='color:#b00020'>{escape(text)}</span>"
        elif count:
            text = escape(tr("Published: {} frame(s) in the tile index.").format(count))
        else:
            text = escape(tr("New collection: nothing published yet."))
        self.ui.exists.setText(text)
        self._show_capabilities(results.get("WMS_URL", ""), count)
        self._show_public_read(results.get("PUBLIC_READ", ""))
        self._show_rows()
        if then is not None:
            then()

    def _take_off_list(self, asked, results):
        """A county off the list: taken when the look-up found its collection published (in the
        spelling its table records), else refused as the list refuses it. Whether it is taken."""
        if results.get("COUNTY_STATUS") != "published":
            self.taken = self.collection = None  # (no more: its collection is gone)
            self._show_names("")
            self.ui.exists.setText("")  # the form's refusal says it: nothing to look up
            self._show_rows()
            return False
        if self.taken is None:  # the names as published, and why they are taken
            self.taken = replace(asked, county=results.get("COUNTY") or asked.county)
            self.collection = self.taken
            self._show_names("")
        return True

    def _show_capabilities(self, wms_url, count):
        if not (wms_url and count):
            self.ui.capabilities.setText("")
            return
        url = urls.capabilities_url(wms_url)
        link = f"<a href='{html_escape(url)}'>{escape(tr('WMS GetCapabilities'))}</a>"
        self.ui.capabilities.setText(link)

    def _show_public_read(self, public):
        """Before the first publish as after: a bucket whose public stages are not public."""
        missing = public == "no"
        if missing:
            text = tr(
                "The bucket is not public: published frames and downloads answer 403 (access "
                "denied) until its policy is applied."
            )
            self.ui.policy.setText(f"<span style='color:#b00020'>{escape(text)}</span>")
        self.ui.policy.setVisible(missing)
        self.ui.apply_policy.setVisible(missing)

    def apply_public_policy(self):
        """Run ``ls4:applypublicpolicy``; then reads GDAL had cached (a 403) are dropped."""
        self.ui.apply_policy.setEnabled(False)
        job = self._background("ls4:applypublicpolicy", {}, tr("LS4: apply the public-read policy"))
        job.done.connect(lambda ok, results: self._policy_applied(job, ok))

    def _policy_applied(self, job, ok):
        self.ui.apply_policy.setEnabled(True)
        if not ok:
            self.say(job.error_text(), error=True, details=True)
            return
        gdal.VSICurlClearCache()
        self.say(tr("The public-read policy is applied: the public stages are public."))
        self.refresh_collection_info()

    # --- files -----------------------------------------------------------------------------

    def choose_files(self):
        folder = QgsSettings().value("ls4/gui/last_folder", "")
        paths, _ = QFileDialog.getOpenFileNames(
            self, tr("Add scans or georeferenced frames"), folder, tr("GeoTIFF (*.tif *.TIF)")
        )
        if paths:
            QgsSettings().setValue("ls4/gui/last_folder", os.path.dirname(paths[0]))
            self.add_files(paths)

    def _fill_layers_menu(self):
        menu = self.ui.layers_menu
        menu.clear()
        layers = raster_layers()
        if not layers:
            menu.addAction(tr("No raster file layer in the project")).setEnabled(False)
            return
        menu.addAction(tr("All raster layers"), lambda: self.add_layers(layers))
        menu.addSeparator()
        for layer in layers:
            menu.addAction(layer.name(), lambda layer=layer: self.add_layers([layer]))

    def add_layers(self, layers):
        self.add_files([gdal_path(layer.source()) for layer in layers])

    def add_files(self, paths, scan_of=""):
        """Add files to the list (once each) and inspect them; returns the rows added."""
        added = []
        known = {row.path for row in self.rows}
        for path in paths:
            path = os.path.abspath(os.fspath(path))
            if path in known or not is_raster_path(path):
                continue
            row = FileRow(path=path, scan_of=scan_of)
            self.rows.append(row)
            known.add(path)
            added.append(row)
            self._watch(os.path.dirname(path))
            self.inspect(row)
        self._show_rows()
        return added

    def _watch(self, folder):
        if folder not in self._watcher.directories():
            self._watcher.addPath(folder)

    def inspect(self, row):
        row.report, row.error = None, ""
        job = self._background(
            "ls4:inspectraster", {"INPUT": row.path}, tr("LS4: inspect {}").format(row.name)
        )
        job.done.connect(lambda ok, results: self._inspected(row, job, ok, results))

    def _inspected(self, row, job, ok, results):
        if ok:
            row.set_report(results["REPORT"])
        else:
            row.error = job.error_text()
        if row.kind == FRAME and self.named is not None:
            self._info_timer.start()  # it may be published already
        self._show_rows()

    def remove_selected(self):
        selected = set(self.ui.table.selected_paths())
        self.rows = [row for row in self.rows if row.path not in selected]
        self._show_rows()

    def selected_rows(self):
        selected = set(self.ui.table.selected_paths())
        return [row for row in self.rows if row.path in selected]

    def row(self, path):
        path = os.path.abspath(os.fspath(path))
        return next((row for row in self.rows if row.path == path), None)

    def _show_rows(self):
        for scan in (row for row in self.rows if row.kind == SCAN):
            made = os.path.join(os.path.dirname(scan.path), GEOREFERENCED_FOLDER, scan.name)
            made_rows = (row for row in self.rows if row.kind == FRAME and row.path == made)
            scan.georeferenced_as = made if next(made_rows, None) is not None else ""
        self.ui.table.show_rows(self.rows, self.collection, self.stored_band, self._pending())
        self.update_buttons()
        self.show_details()

    def _pending(self):
        """Whether the collection's look-up has still to answer."""
        return self.collection is not None and not self.looked_up

    def show_details(self):
        """The selected files' status in full, under the table, wrapped to the dock's width."""
        lines = []
        for row in self.selected_rows():
            status = row.status(self.collection, self.stored_band, self._pending())
            bad = row.failed or row.blocking_problems(self.collection, self.stored_band)
            color = "#b00020" if bad else "palette(text)"
            lines.append(
                f"<span style='color:{color}'><b>{escape(row.name)}</b>: {escape(status)}</span>"
            )
        self.ui.details.setText("<br>".join(lines))
        self.ui.details.setVisible(bool(lines))  # no empty line under the table

    # --- georeferencing --------------------------------------------------------------------

    def apply_points(self):
        """Georeference the selected scans with the .points files next to them."""
        scans = [row for row in self.selected_rows() if row.kind == SCAN]
        self._georef_queue = [row for row in scans if os.path.exists(row.points_path)]
        if not self._georef_queue:
            self.say(tr("Select a scan that has a .points file next to it."), error=True)
            return
        self._georeference_next()

    def _georeference_next(self):
        if not self._georef_queue:
            return
        scan = self._georef_queue.pop(0)
        output = os.path.join(os.path.dirname(scan.path), GEOREFERENCED_FOLDER, scan.name)
        try:
            os.makedirs(os.path.dirname(output), exist_ok=True)
        except OSError as error:
            self.say(tr("Cannot write {}: {}").format(output, error.strerror), error=True)
            return
        params = {
            "INPUT": scan.path,
            "GCP_POINTS": scan.points_path,
            "TRANSFORM": self.ui.transform.currentIndex(),
            "OUTPUT": output,
        }
        job = self._main("ls4:georeference", params, tr("LS4: georeference {}").format(scan.name))
        if job is not None:
            job.done.connect(lambda ok, results: self._georeferenced(scan, job, ok, results))

    def _georeferenced(self, scan, job, ok, results):
        if not ok:
            self._georef_queue = []
            self.say(tr("{}: {}").format(scan.name, job.error_text()), error=True)
            return
        output = results["OUTPUT"]
        existing = self.row(output)
        if existing is not None:
            self.inspect(existing)
        else:
            self.add_files([output], scan_of=scan.path)
        self.say(
            tr("{} georeferenced (RMS error {:.2f} px): {}").format(
                scan.name, float(results["RMS_PX"]), output
            )
        )
        self._georeference_next()

    def open_georeferencer(self):
        """Open QGIS's Georeferencer; the scan's path is put on the clipboard to open it."""
        scans = [row for row in self.selected_rows() if row.kind == SCAN]
        action = find_action(self.iface.mainWindow(), GEOREFERENCER_ACTIONS)
        if not scans:
            self.say(tr("Select a scan first."), error=True)
            return
        if action is None:
            self.say(tr("QGIS's Georeferencer is not available in this QGIS."), error=True)
            return
        scan = scans[0]
        QgsSettings().setValue(GEOREFERENCER_DIR_SETTING, os.path.dirname(scan.path))
        QgsApplication.clipboard().setText(scan.path)
        action.trigger()
        self.say(
            tr(
                "In the Georeferencer, open {} (its path is on the clipboard), add the points and "
                "save them next to it as {}; then come back and click Apply .points."
            ).format(scan.name, os.path.basename(scan.points_path))
        )

    # --- preview ---------------------------------------------------------------------------

    def preview(self):
        """Show the selected frame (its COG once published) and its footprint, zoomed to it."""
        frames = [row for row in self.selected_rows() if row.kind == FRAME]
        if not frames:
            self.say(tr("Select a georeferenced frame to preview."), error=True)
            return
        frame = frames[0]
        source = f"/vsicurl/{frame.cog_url}" if frame.cog_url else frame.path
        job = self._background(
            "ls4:framefootprint",
            {"INPUT": source, "OUTPUT": "TEMPORARY_OUTPUT"},
            tr("LS4: footprint of {}").format(frame.name),
        )
        job.done.connect(lambda ok, results: self._previewed(frame, source, job, ok, results))

    def _previewed(self, frame, source, job, ok, results):
        if not ok:
            self.say(tr("{}: {}").format(frame.name, job.error_text()), error=True)
            return
        footprint = job.context.takeResultLayer(results["OUTPUT"])
        footprint.setName(tr("{} footprint").format(frame.name))
        footprint.renderer().setSymbol(
            QgsFillSymbol.createSimple(
                {"color": "0,0,0,0", "outline_color": "#e31a1c", "outline_width": "0.6"}
            )
        )
        suffix = tr(" (COG)") if frame.cog_url else ""
        raster = QgsRasterLayer(source, frame.name + suffix)
        canvas_crs = self.iface.mapCanvas().mapSettings().destinationCrs()
        for layer in (raster, footprint):  # chosen here: QGIS would ask with its dialog
            choose_transform(layer.crs(), canvas_crs)
        self._replace_preview([raster, footprint])
        self.zoom_to(footprint)
        self.say(tr("Preview of {}{}").format(frame.name, suffix))

    def _replace_preview(self, layers):
        project = QgsProject.instance()
        project.removeMapLayers([i for i in self.preview_layer_ids if project.mapLayer(i)])
        root = project.layerTreeRoot()
        group = root.findGroup(PREVIEW_GROUP) or root.insertGroup(0, PREVIEW_GROUP)
        for layer in reversed(layers):
            project.addMapLayer(layer, False)
            group.insertLayer(0, layer)
        self.preview_layer_ids = [layer.id() for layer in layers]

    def zoom_to(self, layer):
        canvas = self.iface.mapCanvas()
        extent = layer.extent()
        crs = canvas.mapSettings().destinationCrs()
        if crs.isValid() and crs != layer.crs():
            transform = QgsCoordinateTransform(layer.crs(), crs, QgsProject.instance())
            extent = transform.transformBoundingBox(extent)
        extent.scale(1.1)
        canvas.setExtent(extent)
        canvas.refresh()

    # --- upload, publish, check ------------------------------------------------------------

    def scans_to_upload(self):
        return [
            row
            for row in self.rows
            if row.kind == SCAN and not row.blocking_problems(self.collection, self.stored_band)
        ]

    def frames_to_publish(self):
        return [row for row in self.rows if row.ready(self.collection, self.stored_band)]

    def upload_scans(self):
        scans = self.scans_to_upload()
        if self.collection is None or not scans:
            return
        params = dict(self.collection_fields(), INPUT=[row.path for row in scans], STAGE=0)
        title = tr("LS4: upload {} scan(s) of {}").format(len(scans), self.collection.name)
        job = self._main("ls4:uploadtos3", params, title)
        if job is not None:
            job.done.connect(lambda ok, results: self._uploaded(scans, job, ok, results))

    def _uploaded(self, scans, job, ok, results):
        if not ok:
            self.say(job.error_text(), error=True, details=True)
            return
        for row, key in zip(scans, results["KEYS"].splitlines(), strict=False):
            row.result, row.failed = tr("Scan uploaded to {}").format(key), False
        self.say(tr("{} scan(s) uploaded to scanned/.").format(len(scans)))
        self._show_rows()

    def publish(self):
        frames = self.frames_to_publish()
        if self.collection is None or not frames:
            return
        left_out = len([row for row in self.rows if row.kind == FRAME]) - len(frames)
        params = dict(self.collection_fields(), INPUT=[row.path for row in frames])
        title = tr("LS4: publish {}").format(self.collection.name)
        job = self._main("ls4:publishcollection", params, title)
        if job is None:
            return
        for row in frames:
            row.result, row.failed = tr("Publishing…"), False
        if left_out:
            self.say(
                tr("Publishing {} frame(s); {} not ready are left out.").format(
                    len(frames), left_out
                )
            )
        job.done.connect(lambda ok, results: self._published(frames, job, ok, results))
        self._show_rows()

    def _published(self, frames, job, ok, results):
        outcome = {}
        if ok:
            outcome = {frame["source"]: frame for frame in json.loads(results["FRAMES"])}
        for row in frames:
            self._frame_outcome(row, outcome.get(row.path), job)
        if ok:
            self._say_outcome(results["COLLECTION"], frames, outcome)
            self.refresh_published_agencies()  # it may be a new agency's first collection
        elif job.canceled:  # what the cancel kept is what the index holds now: look it up
            self.say(tr("Canceled; looking up which frames were kept…"))
        else:
            self.say(job.error_text(), error=True, details=True)
        self.refresh_collection_info(then=lambda: self._after_publish(frames, job.canceled))
        self._show_rows()

    def _after_publish(self, frames, canceled):
        for row in frames:  # GDAL must not answer a republished COG from a cached failure
            if row.cog_url:
                forget_cached_reads(row.cog_url)
        if canceled:
            self._say_kept(frames)

    def _say_outcome(self, name, frames, outcome):
        """Per-frame counts that mean what they say, then every warning of the run."""
        statuses = [outcome[row.path]["status"] if row.path in outcome else "" for row in frames]
        counts = [statuses.count(status) for status in OUTCOMES]
        failed = counts[2] + counts[3] + statuses.count("canceled")
        text = tr("{}: {} published, {} unchanged, {} failed, {} not attempted.").format(
            name, *counts
        )
        warnings = [localize(w) for frame in outcome.values() for w in frame.get("warnings", [])]
        if warnings:
            text += " " + tr("Warnings: {}").format(" · ".join(warnings))
        self.say(text, error=bool(failed), details=bool(failed or warnings))

    def _say_kept(self, frames):
        kept = [row.name for row in frames if row.published]
        text = tr("Canceled. Kept (published before the cancel, in the index and the WMS): {}.")
        text = text.format(", ".join(kept)) if kept else tr("Canceled. No frame was published.")
        left = len(frames) - len(kept)
        if kept and left:
            text += " " + tr("{} frame(s) not published: click Publish to go on.").format(left)
        self.say(text)

    @staticmethod
    def _frame_outcome(row, frame, job):
        if frame is None:
            # canceled or refused as a whole: the index (looked up next) tells what was published
            warning = next((w for w in job.feedback.warnings if w.startswith(row.name + ":")), "")
            row.result, row.failed = localize(warning), bool(warning)
            return
        words = {
            "published": tr("Published"),
            "unchanged": tr("Published (no change)"),
            "canceled": tr("Canceled"),
            "not attempted": tr("Not attempted"),
        }
        row.failed = frame["status"] in ("failed", "not attempted")
        status = frame["status"]
        said = [localize(frame["message"]) if status == "failed" else words.get(status, "")]
        prefix = row.name + ": "
        said += [
            localize(w[len(prefix) :] if w.startswith(prefix) else w) for w in frame["warnings"]
        ]
        row.result = "; ".join(word for word in said if word)

    def check(self):
        """Load the collection's WMS (``ls4:loadwms``) and zoom to it."""
        if self.collection is None:
            return
        params = {"COLLECTION": self.collection.name}
        job = self._main("ls4:loadwms", params, tr("LS4: load WMS {}").format(params["COLLECTION"]))
        if job is not None:
            job.done.connect(lambda ok, results: self._checked(job, ok, results))

    def _checked(self, job, ok, results):
        if not ok:
            self.say(job.error_text(), error=True, details=True)
            return
        layer = QgsProject.instance().mapLayer(results.get("LAYER_ID", ""))
        if layer is None:  # the service did not give the layer (said on the main thread)
            self.say(job.error_text(), error=True, details=True)
            return
        layer.setName(self.layer_title())
        replace_same_source(layer)
        self.zoom_to(layer)
        text = tr("WMS layer {} loaded.").format(layer.name())
        items = [row for row in self.selected_rows() if row.kind == FRAME and row.stac_url]
        if items:
            text += " " + tr("STAC item of {}: {}").format(items[0].name, items[0].stac_url)
        self.say(text)

    def layer_title(self):
        """The collection in words as the user spells it ("TxDOT", not the name's "TXDOT")."""
        return keys.canonical(self.collection, settings.agencies()).words

    def cancel(self):
        if self.main_job is not None and self.main_job.running:
            self.main_job.cancel()
            self.ui.cancel.setEnabled(False)
            self.say(tr("Canceling…"))

    def open_settings(self):
        from .settings_dialog import SettingsDialog

        name = self.collection.name if self.collection else ""
        dialog = SettingsDialog(self, collection=name)
        if dialog.exec():
            self.update_completions()
            self.refresh_published_agencies()
            self.refresh_collection_info()

    # --- jobs and state --------------------------------------------------------------------

    def busy(self):
        """Whether any algorithm the dock started is still running (or a look-up is due)."""
        return bool(self.jobs) or self._main_running() or self._info_timer.isActive()

    def _main_running(self):
        return self.main_job is not None and self.main_job.running

    def _background(self, algorithm_id, params, title):
        job = AlgorithmJob(algorithm_id, params, title)
        self.jobs.add(job)
        job.done.connect(lambda *_: self.jobs.discard(job))
        job.start()
        return job

    def _main(self, algorithm_id, params, title):
        """Run the one long job the progress bar and Cancel belong to."""
        if self.main_job is not None and self.main_job.running:
            self.say(tr("Wait for {} to finish, or cancel it.").format(self.main_job.title))
            return None
        job = AlgorithmJob(algorithm_id, params, title)
        self.main_job = job
        self.ui.progress.setValue(0)
        self.ui.progress.setFormat(title + " %p%")
        job.progress.connect(self._progress)
        job.done.connect(lambda *_: self._main_done(job))
        self.say(title + "…")
        job.start()
        self.update_buttons()
        return job

    def _progress(self, value):
        self.ui.progress.setValue(int(value))

    def _main_done(self, job):
        if job.ok:
            self.ui.progress.setValue(100)
        else:  # no stale percentage: the bar says how the job ended
            ended = tr("{}: canceled") if job.canceled else tr("{}: failed")
            self.ui.progress.setValue(0)
            self.ui.progress.setFormat(ended.format(job.title))
        self.update_buttons()

    def say(self, text, error=False, details=False):
        """Tell the user what happened, in the dock; details stay in the log panel."""
        if details:
            text += " " + tr("(Details: View ▸ Panels ▸ Log Messages, LS4 tab.)")
        color = "#b00020" if error else "palette(text)"
        self.ui.message.setText(f"<span style='color:{color}'>{escape(text)}</span>")

    def update_buttons(self):
        ui = self.ui
        idle = not (self.main_job is not None and self.main_job.running)
        selected = self.selected_rows()
        scans = [row for row in selected if row.kind == SCAN]
        ui.publish.setEnabled(
            idle and self.collection is not None and bool(self.frames_to_publish())
        )
        ui.upload.setEnabled(idle and self.collection is not None and bool(self.scans_to_upload()))
        ui.cancel.setEnabled(not idle)
        ui.apply_points.setEnabled(idle and any(os.path.exists(r.points_path) for r in scans))
        ui.georeferencer.setEnabled(bool(scans))
        ui.preview.setEnabled(any(row.kind == FRAME for row in selected))
        ui.remove.setEnabled(idle and bool(selected))
        published = int(self.info.get("FRAME_COUNT") or 0) > 0
        ui.check.setEnabled(idle and self.collection is not None and published)

    def shutdown(self):
        """Cancel what runs and stop watching: the plugin is being unloaded."""
        self._info_timer.stop()
        self._retry_timer.stop()
        if self._watcher.directories():
            self._watcher.removePaths(self._watcher.directories())
        jobs = list(self.jobs) + ([self.main_job] if self.main_job is not None else [])
        for job in jobs:
            job.abandon()
        self.jobs.clear()
        self.main_job = None


def describe(collection):
    """The names the grammar builds for ``collection``, as the dock shows them."""
    return "<br>".join(
        [
            f"<b>{escape(collection.name)}</b> — {escape(tr('WMS title'))}: "
            f"“{escape(collection.title)}”",
            f"{escape(tr('Table'))}: {escape(collection.table)} · "
            f"{escape(tr('Mapfile'))}: {escape(collection.mapfile_key)}",
            f"{escape(tr('Keys'))}: {escape(collection.prefix())}{{scanned,georef,cog}}/",
        ]
    )


def replace_same_source(layer):
    """Remove the project's other layers of ``layer``'s source (the same WMS, loaded earlier):
    checking a collection again replaces its layer instead of adding one more."""
    project = QgsProject.instance()
    same = [
        other.id()
        for other in project.mapLayers().values()
        if other.id() != layer.id() and other.source() == layer.source()
    ]
    if same:
        project.removeMapLayers(same)


def choose_transform(source, destination):
    """Put PROJ's preferred operation from ``source`` to ``destination`` into the project's
    transform context, unless one is chosen already: QGIS then shows the layer without asking
    with its datum-transformation dialog."""
    project = QgsProject.instance()
    context = project.transformContext()
    if not (source.isValid() and destination.isValid()) or source == destination:
        return
    if context.hasTransform(source, destination):
        return
    operations = QgsDatumTransform.operations(source, destination)
    available = [op for op in operations if op.isAvailable]
    if not available or (len(operations) < 2 and operations[0].isAvailable):
        return  # one operation, usable: QGIS does not ask (none usable: nothing to choose)
    # QGIS asks when PROJ knows several, usable here or not (a missing grid): the best usable
    context.addCoordinateOperation(source, destination, available[0].proj)
    project.setTransformContext(context)


def forget_cached_reads(url):
    """Drop what GDAL remembers of ``url`` (its size, its blocks, a 403 or 404 it got): a COG
    just published, or made public, is read again instead of failing from the cache."""
    gdal.VSICurlPartialClearCache(f"/vsicurl/{url}")


def raster_layers():
    """The project's raster layers that are files GDAL reads."""
    layers = QgsProject.instance().mapLayers().values()
    return [
        layer
        for layer in layers
        if isinstance(layer, QgsRasterLayer)
        and layer.providerType() == "gdal"
        and is_raster_path(gdal_path(layer.source()))
    ]


def find_action(main_window, names):
    """QGIS's own action of one of these object names, if this QGIS has it."""
    for name in names:
        action = main_window.findChild(QAction, name)
        if action is not None:
            return action
    return None
