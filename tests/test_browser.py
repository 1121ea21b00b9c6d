"""A web page of another origin draws the collection with OpenLayers (``crossOrigin:
'anonymous'``) over the WMTS and over the WMS, in headless Chromium: pixels checked.

Needs Debian's ``chromium`` and OpenLayers from npm (``npm ci --prefix tests/web``, done by
scripts/setup.sh). Where either is missing (the QGIS matrix chroots carry neither) the test is
skipped, saying which: the browser's side does not depend on the QGIS version.
"""

import functools
import http.server
import json
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from publish_support import publish_sample_frames
from wms_client import image_array

from ls4.ls4_plugin.core import keys, tileindex, tiles

pytestmark = pytest.mark.stack

OL = Path(__file__).parent / "web" / "node_modules" / "ol"
CHROMIUM = shutil.which("chromium")
COLLECTION = keys.Collection(band="bw", type="frames", agency="USGS", county="Web", year="2014")
SIZE = 400  # each map is SIZE x SIZE CSS pixels
BACKGROUND = (255, 0, 255)  # magenta: no aerial photograph has it

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>loading</title>
<link rel="stylesheet" href="ol.css">
<style>
html, body {{ margin: 0; background: rgb{background}; }}
.map {{ width: {size}px; height: {size}px; float: left; }}
.ol-control, .ol-attribution {{ display: none; }}
</style>
<script src="ol.js"></script></head>
<body><div id="wmts" class="map"></div><div id="wms" class="map"></div>
<script>
const extent = {extent};
const status = {{}};
function done(name, value) {{
  status[name] = value;
  if (Object.keys(status).length === 2) document.title = JSON.stringify(status);
}}
function watch(map, name) {{
  map.once("rendercomplete", () => {{
    try {{
      // a canvas drawn from images without CORS is tainted: reading it throws
      const canvas = map.getViewport().querySelector("canvas");
      canvas.getContext("2d").getImageData(0, 0, 1, 1);
      done(name, "ok");
    }} catch (error) {{
      done(name, "tainted: " + error.name);
    }}
  }});
}}
function view() {{
  const v = new ol.View({{ projection: "EPSG:3857" }});
  v.fit(extent, {{ size: [{size}, {size}] }});
  return v;
}}
fetch({capabilities})
  .then((reply) => reply.text())
  .then((text) => {{
    const parsed = new ol.format.WMTSCapabilities().read(text);
    const options = ol.source.WMTS.optionsFromCapabilities(parsed, {{
      layer: {layer}, matrixSet: "webmercator",
    }});
    options.crossOrigin = "anonymous";
    const map = new ol.Map({{
      target: "wmts", view: view(),
      layers: [new ol.layer.Tile({{ source: new ol.source.WMTS(options) }})],
    }});
    watch(map, "wmts");
  }})
  .catch((error) => done("wmts", "capabilities: " + error));
const wms = new ol.Map({{
  target: "wms", view: view(),
  layers: [new ol.layer.Image({{ source: new ol.source.ImageWMS({{
    url: {wms}, params: {{ LAYERS: {layer}, FORMAT: "image/png", TRANSPARENT: true }},
    ratio: 1, crossOrigin: "anonymous",
  }}) }})],
}});
watch(wms, "wms");
</script></body></html>
"""


@pytest.fixture(scope="module")
def browser_tools():
    if CHROMIUM is None:
        pytest.skip("no chromium here (Debian package chromium; the QGIS chroots have none)")
    if not (OL / "dist" / "ol.js").exists():
        pytest.skip(f"OpenLayers missing: npm ci --prefix {OL.parents[1]}")
    return CHROMIUM


@pytest.fixture(scope="module")
def published(stack, tmp_path_factory):
    publish_sample_frames(stack, COLLECTION, tmp_path_factory.mktemp("web"), count=3)
    with tileindex.connect(stack["postgres"]["dsn"]) as conn:
        return tileindex.extent(conn, COLLECTION.table)


@pytest.fixture
def page_server(tmp_path):
    """An HTTP server of its own origin (another port than the map services) for the page."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run_chromium(chromium, url, folder):
    """(screenshot as an array, the page's title) after the page settled."""
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "shot.png"
    common = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--hide-scrollbars",
        f"--window-size={2 * SIZE},{SIZE}",
        "--virtual-time-budget=60000",
    ]
    for flag, profile in ((f"--screenshot={shot}", "shot"), ("--dump-dom", "dom")):
        user_data = folder / f"profile-{profile}"  # a fresh profile for every run
        done = subprocess.run(
            [*common, f"--user-data-dir={user_data}", flag, url],
            capture_output=True,
            timeout=120,
            check=False,
        )
        if profile == "dom":
            dom = done.stdout.decode(errors="replace")
    assert shot.exists(), done.stderr.decode(errors="replace")[-2000:]
    title = dom.split("<title>", 1)[1].split("</title>", 1)[0]
    return image_array(shot.read_bytes()), title


def drawn_shares(shot):
    """The share of each map (left WMTS, right WMS) that is not the page's background."""
    background = np.all(shot[:3] == np.array(BACKGROUND, float)[:, None, None], axis=0)
    return (~background[:, :SIZE]).mean(), (~background[:, SIZE:]).mean()


def test_openlayers_draws_the_frames_over_wmts_and_wms(
    browser_tools, published, stack, page_server
):
    folder, origin = page_server
    for name in ("dist/ol.js", "ol.css"):
        shutil.copy(OL / name, folder / Path(name).name)
    wms_url = stack["mapserver"]["wms_url_template"].format(collection=COLLECTION.name)
    urls = tiles.service_urls(wms_url, COLLECTION.name)
    minx, miny, maxx, maxy = published
    (folder / "index.html").write_text(
        PAGE.format(
            background=BACKGROUND,
            size=SIZE,
            extent=json.dumps([minx, miny, maxx, maxy]),
            capabilities=json.dumps(urls["wmts_capabilities"]),
            wms=json.dumps(wms_url),
            layer=json.dumps(COLLECTION.name),
        )
    )
    # On a loaded machine the page may not have settled within Chromium's time budget: the
    # title still says "loading". Only then is it run again (at most 3 times).
    # The screenshot and the title come from two page loads: the screenshot may be taken before
    # the tiles arrived. Each check below is the same on the last attempt.
    for attempt in range(3):
        shot, title = run_chromium(browser_tools, f"{origin}/index.html", folder / str(attempt))
        if title != "loading" and min(drawn_shares(shot)) > 0.4:
            break
    assert json.loads(title.replace("&quot;", '"')) == {"wmts": "ok", "wms": "ok"}, title
    rgb = shot[:3]
    assert rgb.shape[1:] == (SIZE, 2 * SIZE)
    background = np.all(rgb == np.array(BACKGROUND, float)[:, None, None], axis=0)
    halves = {"wmts": slice(0, SIZE), "wms": slice(SIZE, 2 * SIZE)}
    drawn = {name: ~background[:, part] for name, part in halves.items()}
    for name, mask in drawn.items():
        assert mask.mean() > 0.4, f"{name}: the frames cover {mask.mean():.0%} of the map"
        grey = rgb[:, :, halves[name]][:, mask]
        # the photographs are grey (only the edge pixels blend with the magenta page)
        assert (np.abs(grey[0] - grey[1]) <= 2).mean() > 0.98
    # the two maps show the same place: the same pixels drawn, the same picture
    both = drawn["wmts"] & drawn["wms"]
    assert both.mean() > 0.35
    left, right = rgb[0][:, halves["wmts"]][both], rgb[0][:, halves["wms"]][both]
    assert np.abs(left - right).mean() < 25
