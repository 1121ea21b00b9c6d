"""webapp.make_app with a real HTTP upstream on loopback standing in for lighttpd + MapServer
(the whole chain through the real stack is in test_service and test_publish_faults)."""

import http.server
import threading
from contextlib import contextmanager

import pytest
from test_capabilities import WMS_111

from ls4.ls4_plugin.core import webapp


class Upstream(http.server.BaseHTTPRequestHandler):
    """Answers like MapServer behind lighttpd: capabilities for /wms-maps/known.map, 404 else;
    remembers what it was asked."""

    seen: list = []

    def do_GET(self):
        Upstream.seen.append((self.path, self.headers.get("X-LS4-Capabilities")))
        if self.path.startswith("/wms-maps/known.map"):
            self._reply(200, "application/vnd.ogc.wms_xml", WMS_111)
        else:
            self._reply(404, "text/html", b"<html>404 Not Found</html>")

    def _reply(self, code, content_type, body):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextmanager
def upstream():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def call(app, path, query="", method="GET"):
    answer = {}

    def start_response(status, headers):
        answer.update(status=status, headers=dict(headers))

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}
    environ |= {"SCRIPT_NAME": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80"}
    environ |= {"wsgi.url_scheme": "http", "HTTP_HOST": "127.0.0.1"}
    body = b"".join(app(environ, start_response))
    return answer["status"], answer["headers"], body


@pytest.fixture
def app(tmp_path):
    with upstream() as url:
        Upstream.seen = []
        yield webapp.make_app(str(tmp_path), url)


def test_capabilities_come_from_mapserver_marked_raw_with_the_boxes_added(app):
    status, headers, body = call(app, "/wms-maps/known.map", "map=/m/known.map&REQUEST=x")
    assert status.startswith("200")
    assert headers["Content-Type"] == "application/vnd.ogc.wms_xml"
    assert int(headers["Content-Length"]) == len(body)
    assert (
        b'<BoundingBox SRS="EPSG:3857"' in body and b'<BoundingBox SRS="EPSG:3857"' not in WMS_111
    )
    assert Upstream.seen == [("/wms-maps/known.map?map=/m/known.map&REQUEST=x", "raw")]


def test_head_answers_the_length_without_the_body(app):
    status, headers, body = call(app, "/wms-maps/known.map", "REQUEST=x", method="HEAD")
    assert status.startswith("200") and body == b"" and int(headers["Content-Length"]) > 0


def test_mapserver_s_404_and_odd_paths_pass_as_they_are(app):
    status, _, body = call(app, "/wms-maps/no such.map", "REQUEST=GetCapabilities")
    assert status.startswith("404") and body == b"<html>404 Not Found</html>"
    assert Upstream.seen[-1][0] == "/wms-maps/no%20such.map?REQUEST=GetCapabilities"
    assert call(app, "/wms-maps/known.map", "a=b c")[0].startswith("400")  # not a 500
    assert call(app, "/elsewhere")[0].startswith("404")
    assert call(app, "/wms-maps/known.map", method="POST")[0].startswith("404")


def test_an_unreachable_mapserver_is_a_502_naming_nothing(tmp_path):
    with upstream() as url:
        pass  # closed: nothing listens there any more
    status, _, body = call(webapp.make_app(str(tmp_path), url), "/wms-maps/known.map", "x=1")
    assert status.startswith("502") and b"127.0.0.1" not in body


def test_tiles_go_to_mapproxy_under_its_prefix(app):
    status, _, body = call(app, "/tiles/")
    assert status.startswith("200")  # MapProxy's multiapp index, listing nothing
    assert Upstream.seen == []
    assert call(app, "/tiles/no_such_collection/service", "REQUEST=GetCapabilities")[0][:3] == "404"
