"""The local service stack, checked the way its users use it: boto3, psycopg2 and WMS over HTTP."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from contextlib import closing, contextmanager
from pathlib import Path

import boto3
import psycopg2
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from osgeo import gdal

from tools.stack import Stack, StackError

pytestmark = pytest.mark.stack

WMS_NS = "{http://www.opengis.net/wms}"
PUBLIC_PREFIXES = ("cog", "georef", "scanned")


def s3_client(stack, secret_key=None, access_key=None):
    s3 = stack["s3"]
    return boto3.client(
        "s3",
        endpoint_url=s3["endpoint_url"],
        region_name=s3["region"],
        aws_access_key_id=access_key or s3["access_key"],
        aws_secret_access_key=secret_key or s3["secret_key"],
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


def http_get(url):
    """(status, content type, body) of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers.get("Content-Type"), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type"), exc.read()


def anonymous(url, method="GET", data=None):
    request = urllib.request.Request(url, method=method, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def png_bands(body):
    """The bands of a PNG image as numpy arrays (read with GDAL)."""
    assert body[:8] == b"\x89PNG\r\n\x1a\n", body[:300]
    path = f"/vsimem/{uuid.uuid4().hex}.png"
    gdal.FileFromMemBuffer(path, body)
    try:
        dataset = gdal.Open(path)
        return [dataset.GetRasterBand(i + 1).ReadAsArray() for i in range(dataset.RasterCount)]
    finally:
        gdal.Unlink(path)


def raster_bounds(path):
    dataset = gdal.Open(str(path))
    x0, dx, _, y0, _, dy = dataset.GetGeoTransform()
    x1, y1 = x0 + dx * dataset.RasterXSize, y0 + dy * dataset.RasterYSize
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), dataset


def map_text(name, epsg, extent, layers):
    minx, miny, maxx, maxy = extent
    return f"""MAP
  NAME "{name}_map"
  EXTENT {minx} {miny} {maxx} {maxy}
  SIZE 256 256
  PROJECTION "init=epsg:{epsg}" END
  WEB
    METADATA
      "wms_title" "{name} test map"
      "wms_onlineresource" "http://127.0.0.1/wms/{name}?"
      "wms_srs" "EPSG:{epsg} EPSG:3857 EPSG:4326"
      "wms_enable_request" "*"
    END
  END
{layers}
END
"""


def raster_layer(name, data, epsg):
    return f"""  LAYER
    NAME "{name}"
    TYPE RASTER
    STATUS ON
    DATA "{data}"
    PROJECTION "init=epsg:{epsg}" END
    METADATA "wms_title" "{name}" END
  END"""


@contextmanager
def mapfile(stack, name, text):
    """A mapfile in the stack's map folder for the duration of a test (others count mapfiles)."""
    path = Path(stack["mapserver"]["map_dir"]) / f"{name}.map"
    path.write_text(text)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def wms_url(stack, collection, **params):
    query = {"SERVICE": "WMS", "VERSION": "1.3.0", **params}
    url = stack["mapserver"]["wms_url_template"].format(collection=collection)
    return url + "?" + urllib.parse.urlencode(query)


def get_map(stack, collection, layer, epsg, extent, width, height):
    return http_get(
        wms_url(
            stack,
            collection,
            REQUEST="GetMap",
            LAYERS=layer,
            STYLES="",
            CRS=f"EPSG:{epsg}",
            BBOX=",".join(str(v) for v in extent),
            WIDTH=width,
            HEIGHT=height,
            FORMAT="image/png",
        )
    )


def unique(prefix):
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


# --- S3 ----------------------------------------------------------------------------------------


def test_s3_put_get_list_round_trip(stack):
    client = s3_client(stack)
    prefix = f"test_stack/{uuid.uuid4().hex}/"
    body = b"scanned frame bytes \x00\x01\x02"
    try:
        client.put_object(Bucket="ls4", Key=prefix + "a.tif", Body=body)
        client.put_object(Bucket="ls4", Key=prefix + "b.TIF", Body=b"second")
        assert client.get_object(Bucket="ls4", Key=prefix + "a.tif")["Body"].read() == body
        listed = client.list_objects_v2(Bucket="ls4", Prefix=prefix)["Contents"]
        assert sorted(item["Key"] for item in listed) == [prefix + "a.tif", prefix + "b.TIF"]
    finally:
        for key in ("a.tif", "b.TIF"):
            client.delete_object(Bucket="ls4", Key=prefix + key)
    assert client.list_objects_v2(Bucket="ls4", Prefix=prefix).get("KeyCount") == 0


def test_s3_refuses_a_wrong_secret_and_an_unknown_key(stack):
    with pytest.raises(ClientError) as wrong_secret:
        s3_client(stack, secret_key="not-the-secret").list_buckets()
    assert wrong_secret.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as unknown:
        s3_client(stack, access_key="NOSUCHKEY", secret_key="x").head_bucket(Bucket="ls4")
    assert unknown.value.response["Error"]["Code"] in {"InvalidAccessKeyId", "403"}


def test_s3_anonymous_reads_follow_the_bucket_policy(stack):
    """Public read by prefix, as the publish step does it; in a bucket of its own (not ``ls4``)."""
    client = s3_client(stack)
    bucket = f"ls4-policy-{uuid.uuid4().hex[:8]}"
    base = f"{stack['s3']['endpoint_url']}/{bucket}"
    keys = [f"{prefix}/x.tif" for prefix in PUBLIC_PREFIXES] + ["work/x.tif"]
    client.create_bucket(Bucket=bucket)
    try:
        for key in keys:
            client.put_object(Bucket=bucket, Key=key, Body=key.encode())
        assert anonymous(f"{base}/cog/x.tif")[0] == 403
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": [f"arn:aws:s3:::{bucket}/{p}/*" for p in PUBLIC_PREFIXES],
                }
            ],
        }
        client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
        for prefix in PUBLIC_PREFIXES:
            assert anonymous(f"{base}/{prefix}/x.tif") == (200, f"{prefix}/x.tif".encode())
        assert anonymous(f"{base}/work/x.tif")[0] == 403
        assert anonymous(f"{base}?list-type=2")[0] == 403
        assert anonymous(f"{base}/cog/new.tif", "PUT", b"x")[0] == 403
        client.delete_bucket_policy(Bucket=bucket)
        assert anonymous(f"{base}/cog/x.tif")[0] == 403
    finally:
        for key in keys:
            client.delete_object(Bucket=bucket, Key=key)
        client.delete_bucket(Bucket=bucket)


# --- PostGIS -----------------------------------------------------------------------------------


def test_postgis_through_the_dsn(stack):
    with closing(psycopg2.connect(stack["postgres"]["dsn"])) as conn:
        cur = conn.cursor()
        cur.execute("SELECT current_user, current_database(), postgis_version()")
        user, database, version = cur.fetchone()
    assert (user, database) == ("ls4", "ls4")
    assert version.startswith("3.")


def test_postgis_through_the_service_file(stack, monkeypatch):
    monkeypatch.setenv("PGSERVICEFILE", stack["postgres"]["service_file"])
    with closing(psycopg2.connect("service=ls4")) as conn:
        cur = conn.cursor()
        cur.execute("SELECT current_user, postgis_version()")
        user, version = cur.fetchone()
    assert user == "ls4" and version.startswith("3.")


def test_postgres_wants_the_password(stack):
    pg = stack["postgres"]
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(
            host=pg["host"], port=pg["port"], dbname="ls4", user="ls4", password="wrong"
        )


def test_secrets_are_readable_by_the_owner_only(stack):
    root = Path(stack["root"])
    for path in (root / "endpoints.json", root / "pg_service.conf", root / "mapserver.conf"):
        assert path.stat().st_mode & 0o777 == 0o600, path


# --- MapServer over HTTP -----------------------------------------------------------------------


def test_wms_capabilities_and_getmap_of_a_raster(stack, sample):
    image = sample("hro_colorado_gray.tif")
    extent, dataset = raster_bounds(image)
    source = dataset.GetRasterBand(1).ReadAsArray()
    name = unique("test_stack_gray")
    layers = raster_layer(f"{name}_layer", image, 26913)
    with mapfile(stack, name, map_text(name, 26913, extent, layers)):
        status, content_type, body = http_get(wms_url(stack, name, REQUEST="GetCapabilities"))
        assert status == 200 and "xml" in content_type, body[:500]
        capabilities = ET.fromstring(body)
        assert capabilities.tag == f"{WMS_NS}WMS_Capabilities"
        names = [node.text for node in capabilities.iter(f"{WMS_NS}Name")]
        assert f"{name}_layer" in names

        width, height = dataset.RasterXSize, dataset.RasterYSize
        status, content_type, body = get_map(
            stack, name, f"{name}_layer", 26913, extent, width, height
        )
    assert status == 200 and content_type == "image/png", body[:500]
    red, green, blue = png_bands(body)[:3]
    # Same grid as the source: every pixel comes back unchanged, grey in all three bands.
    assert (red == source).all() and (green == source).all() and (blue == source).all()


def test_wms_names_are_plain_and_maps_stay_in_the_map_folder(stack, sample, tmp_path):
    image = sample("hro_colorado_gray.tif")
    extent, _ = raster_bounds(image)
    name = unique("test_stack_plain")
    text = map_text(name, 26913, extent, raster_layer(f"{name}_layer", image, 26913))
    outside = tmp_path / f"{name}.map"
    outside.write_text(text)
    base = stack["mapserver"]["base_url"]
    with mapfile(stack, name, text) as inside:
        caps = "SERVICE=WMS&REQUEST=GetCapabilities"
        # mapserv is reached through /wms/<collection> only
        assert http_get(f"{base}/cgi-bin/mapserv?map={inside}&{caps}")[0] == 404
        # the checked path without the rewrite: the client's map= must match MS_MAP_PATTERN
        status, _, body = http_get(f"{base}/wms-maps/{name}.map?map={outside}&{caps}")
        assert b"WMS_Capabilities" not in body and b"fails to validate" in body
        # A client's own map= comes after the one the URL names, which wins.
        status, _, body = http_get(f"{base}/wms/{name}?map={outside}&{caps}")
        assert status == 200 and f"{name}_layer".encode() in body
        for bad in (name.upper(), f"{name}-x", f"..%2F{name}", f"{name}.map"):
            assert http_get(f"{base}/wms/{bad}?{caps}")[0] == 404, bad


def constant_geotiff(path, value):
    """A 64 x 64 one-band GeoTIFF in EPSG:3857, every pixel ``value`` (same size for any value)."""
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), 64, 64, 1, gdal.GDT_Byte)
    dataset.SetGeoTransform((0, 10, 0, 640, 0, -10))
    dataset.SetProjection("EPSG:3857")
    dataset.GetRasterBand(1).Fill(value)
    dataset = None
    return path


@contextmanager
def postgis_table(stack, name, columns, rows):
    """A table in the stack's database for the duration of a test; ``rows`` are SQL value lists."""
    with closing(psycopg2.connect(stack["postgres"]["dsn"])) as conn, conn:
        cur = conn.cursor()
        cur.execute(f"CREATE TABLE {name} (id serial PRIMARY KEY, {columns})")
        for values, params in rows:
            cur.execute(f"INSERT INTO {name} VALUES (DEFAULT, {values})", params)
    try:
        yield name
    finally:
        with closing(psycopg2.connect(stack["postgres"]["dsn"])) as conn, conn:
            conn.cursor().execute(f"DROP TABLE {name}")


def postgis_layer(name, table, status="ON", style="CLASS STYLE COLOR 255 0 0 END END"):
    return f"""  LAYER
    NAME "{name}"
    TYPE POLYGON
    STATUS {status}
    CONNECTIONTYPE POSTGIS
    CONNECTION "service=ls4"
    DATA "geom FROM {table} USING UNIQUE id USING SRID=3857"
    PROJECTION "init=epsg:3857" END
    {style}
  END"""


def test_wms_reads_a_private_cog_on_s3_through_a_tile_index_and_sees_it_replaced(stack, tmp_path):
    """The published layout: a RASTER layer whose PostGIS tile index (reached through the service
    file) points at a COG in the private part of the bucket (reached with the credentials of
    mapserver.conf). mapserv lives on between requests (FastCGI), so a COG republished under the
    same key must not be served from a stale cache, by either of its processes."""
    client = s3_client(stack)
    key = f"test_stack/{uuid.uuid4().hex}/frame.tif"
    name = unique("test_stack_s3")
    extent = (0, 0, 640, 640)
    row = ("ST_MakeEnvelope(0, 0, 640, 640, 3857), %s", (f"/vsis3/ls4/{key}",))
    raster = f"""  LAYER
    NAME "{name}"
    TYPE RASTER
    STATUS ON
    TILEINDEX "{name}_index"
    TILEITEM "location"
    PROJECTION "init=epsg:3857" END
  END"""
    layers = postgis_layer(f"{name}_index", name, status="OFF", style="") + "\n" + raster
    columns = "geom geometry(Polygon, 3857), location text"
    try:
        with (
            postgis_table(stack, name, columns, [row]),
            mapfile(stack, name, map_text(name, 3857, extent, layers)) as path,
        ):
            assert stack["s3"]["secret_key"] not in path.read_text()
            for value in (60, 190):
                tif = constant_geotiff(tmp_path / f"{value}.tif", value)
                client.upload_file(str(tif), "ls4", key)
                for _ in range(4):
                    status, _, body = get_map(stack, name, name, 3857, extent, 64, 64)
                    assert status == 200, body[:500]
                    assert (png_bands(body)[0] == value).all()
    finally:
        client.delete_object(Bucket="ls4", Key=key)
    assert anonymous(f"{stack['s3']['public_url_base']}/{key}")[0] in (403, 404)


def test_wms_draws_a_postgis_layer_through_the_service_file(stack):
    table = unique("test_stack_index")
    row = ("ST_MakeEnvelope(200, 200, 400, 400, 3857)", ())
    extent = (0, 0, 600, 600)
    text = map_text(table, 3857, extent, postgis_layer(table, table))
    assert "password" not in text
    with (
        postgis_table(stack, table, "geom geometry(Polygon, 3857)", [row]),
        mapfile(stack, table, text),
    ):
        status, _, body = get_map(stack, table, table, 3857, extent, 60, 60)
    assert status == 200, body[:500]
    red, green, blue = png_bands(body)[:3]
    # rows count from the top: the square spans x and y 200..400 of 600, i.e. pixels 20..40
    assert (red[30, 30], green[30, 30], blue[30, 30]) == (255, 0, 0)
    assert (red[5, 5], green[5, 5], blue[5, 5]) == (255, 255, 255)


# --- the Stack object --------------------------------------------------------------------------


def test_up_again_changes_nothing_and_status_says_ready(stack):
    # compared with the stack as it is now: another test restarts PostgreSQL on purpose
    now = json.loads(Path(stack["root"], "endpoints.json").read_text())
    again = Stack(stack["root"])
    assert again.up() == now
    assert again.up()["pids"] == now["pids"]
    report = again.status()
    for name in ("postgres", "s3", "mapserver"):
        assert report[name]["running"] and report[name]["ready"], report
        assert report[name]["pid"] == now["pids"][name]
    assert report["s3"]["port"] == int(stack["s3"]["endpoint_url"].rsplit(":", 1)[1])


def children_of(pids):
    """The processes descending from ``pids`` (postgres backends, FastCGI mapserv), per ps."""
    table = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True).stdout
    pairs = [tuple(int(v) for v in line.split()) for line in table.splitlines()]
    found, todo = set(), set(pids)
    while todo:
        parent = todo.pop()
        kids = {pid for pid, ppid in pairs if ppid == parent} - found
        found |= kids
        todo |= kids
    return found


def alive(pids):
    result = []
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat")
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":
                result.append(pid)
        except OSError:
            continue
    return result


def listening_ports():
    out = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=True).stdout
    return {int(line.split()[3].rsplit(":", 1)[1]) for line in out.splitlines()}


def ports_of_this_stack_listening(endpoints):
    """The stack's ports that a process of this stack listens on (its folder in the process's
    command line or working folder). Other legs of the matrix run beside this one on the same
    network (in PID namespaces of their own: ss names no process of theirs) and may take a
    port this stack picked but never opened, or closed."""
    out = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout
    ours = set(all_ports(endpoints))
    found = set()
    for line in out.splitlines():
        port = int(line.split()[3].rsplit(":", 1)[1])
        pids = [int(pid) for pid in re.findall(r"pid=(\d+)", line)]
        if port in ours and any(_of_stack(pid, endpoints["root"]) for pid in pids):
            found.add(port)
    return found


def _of_stack(pid, root):
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        cwd = ""
    return root in _read(Path(f"/proc/{pid}/cmdline")) or cwd.startswith(root)


def all_ports(endpoints):
    return [port for group in endpoints["ports"].values() for port in group.values()]


def assert_nothing_left(endpoints, processes):
    assert alive(processes) == []
    assert ports_of_this_stack_listening(endpoints) == set()
    ports = endpoints["ports"]["s3"]
    servers = ("s3", "master", "volume", "filer")
    sockets = [Path(f"/tmp/seaweedfs-{s}-grpc-{ports[s + '_grpc']}.sock") for s in servers]
    assert [path for path in sockets if path.exists()] == []


def test_a_second_stack_comes_up_keeps_its_data_and_goes_down_without_a_trace(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("second_stack"))
    try:
        first = stack.up()
        processes = set(first["pids"].values()) | children_of(first["pids"].values())
        assert len(processes) > 5  # postmaster and its helpers, weed, lighttpd and mapserv
        assert set(all_ports(first)) <= listening_ports()
        s3_client(first).put_object(Bucket="ls4", Key="kept.txt", Body=b"kept")
        with closing(psycopg2.connect(first["postgres"]["dsn"])) as conn, conn:
            conn.cursor().execute("CREATE TABLE kept AS SELECT 42 AS answer")
        stack.down()
        assert_nothing_left(first, processes)

        second = stack.up()
        assert second["ports"] == first["ports"] and second["pids"] != first["pids"]
        assert s3_client(second).get_object(Bucket="ls4", Key="kept.txt")["Body"].read() == b"kept"
        with closing(psycopg2.connect(second["postgres"]["dsn"])) as conn:
            cur = conn.cursor()
            cur.execute("SELECT answer FROM kept")
            assert cur.fetchone() == (42,)
        processes = set(second["pids"].values()) | children_of(second["pids"].values())
    finally:
        stack.down(purge=True)
    assert_nothing_left(second, processes)
    assert not stack.root.exists()
    assert not Path(second["postgres"]["data_dir"]).exists()


def test_a_service_that_fails_to_start_is_reported_and_nothing_is_left_running():
    # A folder postgres can reach, so the cluster is root/pg/data and can be spoiled beforehand.
    parent = Path(tempfile.mkdtemp(prefix="ls4-stack-test-"))
    parent.chmod(0o755)
    root = parent / "stack"
    spoiled = root / "pg" / "data"
    spoiled.mkdir(parents=True)
    (spoiled / "PG_VERSION").write_text("15\n")
    stack = Stack(root)
    try:
        with pytest.raises(StackError) as failure:
            stack.up()
        message = str(failure.value)
        # the service, its log and the log's last lines, which say what is wrong
        assert message.startswith("postgres exited during start-up"), message
        assert str(root / "logs" / "postgres.log") in message
        assert "postgresql.conf" in message
        endpoints = json.loads((root / "endpoints.json").read_text())
        assert set(endpoints["pids"].values()) == {None}
        assert ports_of_this_stack_listening(endpoints) == set()
        leftovers = [p for p in Path("/proc").glob("[0-9]*/cmdline") if str(root) in _read(p)]
        assert leftovers == []
    finally:
        stack.down(purge=True)
        shutil.rmtree(parent, ignore_errors=True)


def _read(path):
    try:
        return path.read_bytes().decode(errors="replace")
    except OSError:
        return ""


def test_a_folder_with_unsafe_characters_is_refused(tmp_path):
    with pytest.raises(StackError, match="use only letters"):
        Stack(tmp_path / "my stack").up()
