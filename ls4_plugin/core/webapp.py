"""The tile server's WSGI application (gunicorn, behind lighttpd): MapProxy under ``/tiles/``,
and the WMS capabilities with exact BoundingBoxes (capabilities.py).

lighttpd hands this app every WMS GetCapabilities (``/wms-maps/<collection>.map?...``, after its
rewrite); the app asks lighttpd for MapServer's own document at the address it was given (never
one from the request), with ``X-LS4-Capabilities: raw`` so that lighttpd sends that request to
MapServer, and adds the boxes. Every other answer (an exception, a 404) is passed on as it is.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from . import capabilities

TILES_PREFIX = "/tiles"
WMS_PREFIX = "/wms-maps/"
RAW_HEADER = ("X-LS4-Capabilities", "raw")
# seconds; MapServer writes capabilities without reading any data: milliseconds. Below
# lighttpd's read-timeout for this app (8 s), so a hung MapServer is this app's 502.
UPSTREAM_TIMEOUT = 6
PASSED_HEADERS = ("Content-Type", "Cache-Control", "Last-Modified")
Environ = dict[str, Any]
StartResponse = Callable[..., Any]
App = Callable[[Environ, StartResponse], Iterable[bytes]]


def make_app(tiles_folder: str, wms_upstream: str, timeout: float = UPSTREAM_TIMEOUT) -> App:
    """The WSGI app: MapProxy's multi-project app over ``tiles_folder``, and capabilities
    fetched from ``wms_upstream`` (lighttpd's loopback address, e.g. ``http://127.0.0.1:8080``)."""
    from mapproxy.multiapp import make_wsgi_app

    tiles = make_wsgi_app(tiles_folder, allow_listing=False)
    upstream = wms_upstream.rstrip("/")

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == TILES_PREFIX or path.startswith(TILES_PREFIX + "/"):
            inner = {
                **environ,
                "SCRIPT_NAME": environ.get("SCRIPT_NAME", "") + TILES_PREFIX,
                "PATH_INFO": path[len(TILES_PREFIX) :],
            }
            return tiles(inner, start_response)
        if path.startswith(WMS_PREFIX) and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return _capabilities(environ, start_response, upstream, timeout)
        return _answer(start_response, "404 Not Found", b"Not found\n")

    return app


def _capabilities(
    environ: Environ, start_response: StartResponse, upstream: str, timeout: float
) -> list[bytes]:
    # PATH_INFO comes decoded; the query string as the client sent it.
    url = upstream + urllib.parse.quote(environ["PATH_INFO"])
    if environ.get("QUERY_STRING"):
        url += "?" + environ["QUERY_STRING"]
    try:
        request = urllib.request.Request(url, headers=dict([RAW_HEADER]))
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            status, headers, body = f"{reply.status} {reply.reason}", reply.headers, reply.read()
    except urllib.error.HTTPError as exc:
        status, headers, body = f"{exc.code} {exc.reason}", exc.headers, exc.read()
    except (http.client.InvalidURL, ValueError):  # a query no request can carry (a space)
        return _answer(start_response, "400 Bad Request", b"Bad request\n")
    except OSError:  # MapServer unreachable or too slow: a generic answer, naming nothing
        return _answer(start_response, "502 Bad Gateway", b"The WMS is not available\n")
    if status.startswith("200") and "xml" in headers.get("Content-Type", ""):
        body = capabilities.with_exact_boxes(body)
    passed = [(name, headers[name]) for name in PASSED_HEADERS if headers.get(name)]
    start_response(status, [*passed, ("Content-Length", str(len(body)))])
    return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]


def _answer(start_response: StartResponse, status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
