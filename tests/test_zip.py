"""The plugin ZIP: what it holds, and that stock QGIS (no venv) installs, loads and runs it.

The ZIP is built once per session. QGIS runs in subprocesses of Debian's ``/usr/bin/python3`` and
``/usr/bin/qgis_process.bin`` with a clean environment (no venv, no PYTHONPATH) and a fresh
profile folder, so every package the plugin imports comes from Debian or from ``ext_libs``.
"""

import ast
import json
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from tools import build_zip as build
from tools.build_zip import REPO, build_zip, repository_problems

# Modules LS4 imports from ext_libs unless QGIS's Python has them: the distribution that decides
# and the lowest version LS4 takes from the system (Debian 12 has jsonschema 4.10: too old; Debian
# 13 has all of them new enough, and its own copies must win there).
DECIDED_BY = {
    "boto3": ("boto3", (1, 26)),
    "botocore": ("boto3", (1, 26)),
    "s3transfer": ("boto3", (1, 26)),
    "mappyfile": ("mappyfile", (1, 0)),
    "lark": ("lark", (1, 1, 5)),
    "jsonschema": ("jsonschema", (4, 18)),
    "referencing": ("jsonschema", (4, 18)),
    "jsonschema_specifications": ("jsonschema", (4, 18)),
    "rpds": ("rpds-py", (0,)),
    "typing_extensions": ("typing_extensions", (4, 4)),
}
FROM_EXT_LIBS = tuple(DECIDED_BY)
VENDORED_MODULES = FROM_EXT_LIBS + ("jmespath", "pyrsistent", "pyrsistent_as_rpds", "attr")
VENDORED_MODULES += ("dateutil", "six", "urllib3")
NEVER_SHIPPED = ("tests/", "tools/", "benchmarks/", "scripts/", "build/", "dist/", ".venv/")
PYTHONS = ("3.10", "3.11", "3.12", "3.13", "3.14")  # Ubuntu 22.04 QGIS: 3.10; Debian sid: 3.14

# Runs inside stock QGIS's Python: installs the ZIP the way "Install from ZIP" does, starts the
# plugin the way QGIS desktop does, runs the algorithm, and reports what it saw as JSON.
QGIS_SCRIPT = r"""
import json, os, sys
from qgis.core import QgsApplication
app = QgsApplication([], False)
app.initQgis()
python = os.path.join(QgsApplication.pkgDataPath(), "python")  # QGIS desktop's own modules
sys.path += [python, os.path.join(python, "plugins")]
import qgis.utils
from processing.core.Processing import Processing
from pyplugin_installer.unzip import unzip

zip_path, sample = sys.argv[1], sys.argv[2]
import importlib.metadata
def system_version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
distributions = sorted({name for name, _ in json.loads(sys.argv[4]).values()})
out_versions = {name: system_version(name) for name in distributions}  # before the ZIP is there
plugins = os.path.join(QgsApplication.qgisSettingsDirPath(), "python", "plugins")
unzip(zip_path, plugins)
sys.path.insert(0, plugins)  # QGIS puts the profile's plugin folder first
qgis.utils.plugin_paths.insert(0, plugins)
qgis.utils.updateAvailablePlugins()
Processing.initialize()
out = {"plugins": plugins, "available": "ls4" in qgis.utils.available_plugins}
out["system_versions"] = out_versions
out["loaded"] = qgis.utils.loadPlugin("ls4")
out["started"] = qgis.utils.startPlugin("ls4")
provider = QgsApplication.processingRegistry().providerById("ls4")
out["algorithms"] = sorted(alg.id() for alg in provider.algorithms()) if provider else []

import processing
results = processing.run("ls4:inspectraster", {"INPUT": sample})
out["results"] = {key: results[key] for key in ("BAND_LAYOUT", "CRS", "GEOREFERENCING", "IS_COG")}

import boto3, mappyfile
modules = sys.argv[3].split(",")
out["files"] = {name: __import__(name).__file__ for name in modules}
out["sys_path_tail"] = sys.path[-1]
s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
out["presigned"] = s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "x.tif"})
mapfile = mappyfile.loads('MAP NAME "m" LAYER NAME "l" TYPE RASTER STATUS ON END END')
out["mapfile_layer"] = mapfile["layers"][0]["name"]
try:
    out["validate"] = [
        mappyfile.validate(mapfile),
        mappyfile.validate(mappyfile.loads('MAP NAME "m" LAYER NAME "l" TYPE BOGUS END END')),
    ]
except Exception as error:
    out["validate"] = repr(error)
out["unloaded"] = qgis.utils.unloadPlugin("ls4")
# disabled and enabled again (Plugin Manager, Plugin Reloader): the same algorithms, and they run
out["reloaded"] = qgis.utils.loadPlugin("ls4") and qgis.utils.startPlugin("ls4")
provider = QgsApplication.processingRegistry().providerById("ls4")
out["algorithms_after_reload"] = sorted(a.id() for a in provider.algorithms()) if provider else []
again = processing.run("ls4:inspectraster", {"INPUT": sample})
out["results_after_reload"] = {key: again[key] for key in ("BAND_LAYOUT", "CRS")}
out["unloaded_again"] = qgis.utils.unloadPlugin("ls4")
print("LS4-RESULT " + json.dumps(out))
app.exitQgis()
"""


def clean_env(tmp_path, profiles):
    """A bare environment: Debian's Python and QGIS only, the fresh profile, headless Qt."""
    home = tmp_path / "home"
    runtime = home / "runtime"
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_RUNTIME_DIR": str(runtime),
        "QGIS_CUSTOM_CONFIG_PATH": str(profiles),
    }


@pytest.fixture(scope="session")
def plugin_zip(tmp_path_factory):
    return build_zip(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def zip_names(plugin_zip):
    with zipfile.ZipFile(plugin_zip) as archive:
        return [info.filename for info in archive.infolist()]


@pytest.fixture(scope="session")
def sample_copy(tmp_path_factory, data_dir):
    target = tmp_path_factory.mktemp("sample") / "hro_colorado_rgb.tif"
    shutil.copy(data_dir / "hro_colorado_rgb.tif", target)
    return target


@pytest.fixture(scope="session")
def in_qgis(plugin_zip, sample_copy, tmp_path_factory):
    """What stock QGIS's Python saw after installing the ZIP into a fresh profile."""
    tmp_path = tmp_path_factory.mktemp("qgis")
    profiles = tmp_path / "profiles"
    command = ["/usr/bin/python3", "-c", QGIS_SCRIPT, str(plugin_zip), str(sample_copy)]
    command += [",".join(FROM_EXT_LIBS), json.dumps(DECIDED_BY)]
    done = subprocess.run(
        command, env=clean_env(tmp_path, profiles), capture_output=True, text=True, timeout=120
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("LS4-RESULT ")]
    assert lines, f"QGIS script failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    out = json.loads(lines[-1][len("LS4-RESULT ") :])
    assert out["plugins"] == str(profiles / "profiles" / "default" / "python" / "plugins")
    return out


# --- what the ZIP holds --------------------------------------------------------------------------


def test_zip_is_named_after_the_version(plugin_zip):
    metadata = (REPO / "metadata.txt").read_text(encoding="utf-8")
    version = re.search(r"^version=(.+)$", metadata, re.MULTILINE).group(1).strip()
    assert plugin_zip.name == f"ls4-{version}.zip"


def test_zip_holds_one_ls4_folder_with_metadata_icon_and_license(zip_names):
    assert all(name.startswith("ls4/") for name in zip_names)
    for required in ("metadata.txt", "LICENSE", "__init__.py", "resources/icon.svg"):
        assert f"ls4/{required}" in zip_names


def test_zip_holds_exactly_the_deployable_files(plugin_zip, zip_names):
    tracked = subprocess.run(
        ["git", "ls-files", "__init__.py", "metadata.txt", "LICENSE", "README.md", "ls4_plugin"]
        + ["processing_provider", "resources", "i18n"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    files = {name[len("ls4/") :] for name in zip_names if not name.endswith("/")}
    shipped = {name for name in files if not name.startswith("ext_libs/")}
    assert {name for name in tracked if not name.endswith(".ts")} <= shipped
    with zipfile.ZipFile(plugin_zip) as archive:
        for name in shipped:
            if not name.endswith(".qm"):
                assert archive.read(f"ls4/{name}") == (REPO / name).read_bytes(), name
    for name in files:
        parts = Path(name).parts
        assert "__pycache__" not in parts and not name.endswith((".pyc", ".ts")), name
        assert not any(part.startswith(".") for part in parts), name
        assert not name.startswith(NEVER_SHIPPED), name


def test_zip_carries_the_vendored_packages(zip_names):
    for module in VENDORED_MODULES:
        assert f"ls4/ext_libs/{module}/" in zip_names or f"ls4/ext_libs/{module}.py" in zip_names
    for spec in build.vendored_specs():  # the versions requirements-zip.txt pins, all of them
        name, version = spec.split("==")
        dist = f"ls4/ext_libs/{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info/"
        assert any(entry.lower().startswith(dist.lower()) for entry in zip_names), spec
    assert not any(name.startswith("ls4/ext_libs/bin/") for name in zip_names)


def test_zip_holds_no_compiled_file(zip_names):
    compiled = [
        name
        for name in zip_names
        if name.lower().endswith(build.COMPILED_SUFFIXES) or ".so." in name.rsplit("/", 1)[-1]
    ]
    assert compiled == []
    assert not any(name.endswith((".pyc", ".pyo")) or "/__pycache__/" in name for name in zip_names)


def _dist_infos(plugin_zip):
    with zipfile.ZipFile(plugin_zip) as archive:
        for name in archive.namelist():
            if name.startswith("ls4/ext_libs/") and name.endswith(".dist-info/WHEEL"):
                folder = name[: -len("WHEEL")]
                yield (
                    folder,
                    archive.read(name).decode(),
                    archive.read(folder + "METADATA").decode(),
                )


def test_every_vendored_distribution_is_a_pure_python_wheel_for_python_3_10_to_3_14(plugin_zip):
    dists = list(_dist_infos(plugin_zip))
    assert len(dists) == len(build.vendored_specs())
    for folder, wheel, metadata in dists:
        tags, purelib = build.wheel_tags(wheel)
        assert purelib, folder
        assert tags and tags <= {"py3-none-any", "py2-none-any", "py2.py3-none-any"}, folder
        assert tags != {"py2-none-any"}, folder
        requires = Parser().parsestr(metadata).get("Requires-Python") or ""
        for python in PYTHONS:
            assert python in SpecifierSet(requires), (folder, requires, python)


def test_every_module_in_ext_libs_belongs_to_a_vendored_distribution(plugin_zip, zip_names):
    """Nothing stray: each top-level name is in some wheel's RECORD, or is the rpds alias."""
    recorded = set()
    with zipfile.ZipFile(plugin_zip) as archive:
        for name in zip_names:
            if name.startswith("ls4/ext_libs/") and name.endswith(".dist-info/RECORD"):
                for line in archive.read(name).decode().splitlines():
                    recorded.add(line.split(",")[0].split("/")[0])
        assert archive.read("ls4/ext_libs/rpds/__init__.py").decode() == build.RPDS_ALIAS
    inside = [
        name[len("ls4/ext_libs/") :] for name in zip_names if name.startswith("ls4/ext_libs/")
    ]
    tops = {name.split("/")[0] for name in inside if name}
    assert tops - recorded == {"rpds"}


def test_zip_python_parses_as_python_3_10(plugin_zip):
    """No syntax newer than the oldest Python the plugin supports (except*, PEP 695 types, ...)."""
    with zipfile.ZipFile(plugin_zip) as archive:
        for name in archive.namelist():
            if name.endswith(".py") and "/tests/" not in name:
                ast.parse(archive.read(name), filename=name, feature_version=(3, 10))


@pytest.mark.slow  # runs vermin in other processes over every deployed file
def test_deployed_code_needs_no_python_newer_than_3_10():
    """vermin: no 3.11+ module, function or argument (datetime.UTC, tomllib, enum.StrEnum ...)."""
    deployed = build.deployable_files(REPO).items()
    files = [str(path) for name, path in deployed if name.endswith(".py")]
    command = [sys.executable, "-c", "import sys, vermin; sys.exit(vermin.main())"]
    command += ["--no-tips", "--violations", "--eval-annotations", "-t=3.10-", *files]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_metadata_has_what_the_plugin_repository_and_qgis_4_need(plugin_zip):
    with zipfile.ZipFile(plugin_zip) as archive:
        general = build._metadata(archive.read("ls4/metadata.txt").decode("utf-8"))
        names = archive.namelist()
    for key in build.REPOSITORY_METADATA + ("icon", "homepage", "category", "changelog"):
        assert general.get(key, "").strip(), key
    assert f"ls4/{general['icon']}" in names
    assert general["name"] == "LS4" and general["qgisMinimumVersion"] == "3.22"
    assert general["qgisMaximumVersion"] == "4.99"
    assert general["supportsQt6"] == "True"
    assert general["hasProcessingProvider"] == "yes"
    assert re.fullmatch(r"\d+\.\d+\.\d+", general["version"])
    assert build.metadata_problems(general, names) == []


def test_zip_passes_the_plugin_repository_checks(plugin_zip):
    assert repository_problems(plugin_zip) == []
    assert plugin_zip.stat().st_size < build.REPOSITORY_MAX_BYTES


def test_repository_checks_refuse_what_the_repository_refuses(plugin_zip, tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(plugin_zip) as good, zipfile.ZipFile(bad, "w") as out:
        for info in good.infolist():
            if info.filename == "ls4/metadata.txt":
                text = good.read(info).decode().replace("\nemail=", "\nx-email=")
                out.writestr(info.filename, text.replace("\ntracker=", "\ntracker=bugs\nx="))
            elif info.filename not in ("ls4/LICENSE", "ls4/resources/icon.svg"):
                out.writestr(info, good.read(info))
        out.writestr("ls4/ls4_plugin/__pycache__/plugin.cpython-311.pyc", b"")
        out.writestr("ls4/ext_libs/rpds/rpds.cpython-311-x86_64-linux-gnu.so", b"")
        out.writestr("other/readme.txt", b"")
    problems = "\n".join(repository_problems(bad))
    for expected in (
        "a .pyc file",
        "a forbidden folder",
        "rpds.cpython-311-x86_64-linux-gnu.so: a compiled file",
        "top folders ['ls4', 'other']",
        "no ls4/LICENSE",
        "metadata.txt: no email",
        "metadata.txt: tracker is not a web address",
        "icon 'resources/icon.svg' is not in the ZIP",
    ):
        assert expected in problems


def test_make_zip_prints_the_file_and_its_size(tmp_path, capsys):
    assert build.main(["--output-dir", str(tmp_path)]) == 0
    target = tmp_path / f"ls4-{build.plugin_version()}.zip"
    out = capsys.readouterr().out
    assert f"{target} {target.stat().st_size} bytes" in out
    assert re.search(r"\(\d+\.\d MB of the repository's 25 MB\)", out)


def test_zip_is_deterministic(plugin_zip, tmp_path):
    again = build_zip(tmp_path)
    assert again.read_bytes() == plugin_zip.read_bytes()
    with zipfile.ZipFile(again) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert [info.filename for info in archive.infolist()] == sorted(archive.namelist())


# --- stock QGIS loads and runs it ----------------------------------------------------------------


def test_stock_qgis_installs_starts_and_unloads_the_plugin(in_qgis):
    assert in_qgis["available"] and in_qgis["loaded"] and in_qgis["started"]
    assert "ls4:inspectraster" in in_qgis["algorithms"]
    assert in_qgis["unloaded"]


def test_the_plugin_survives_disable_and_enable(in_qgis):
    """Reloaded through qgis.utils as the Plugin Manager and Plugin Reloader do: every algorithm
    is back (not an empty provider) and runs."""
    assert in_qgis["reloaded"]
    assert in_qgis["algorithms_after_reload"] == in_qgis["algorithms"]
    assert in_qgis["results_after_reload"] == {"BAND_LAYOUT": "nc", "CRS": "EPSG:26913"}
    assert in_qgis["unloaded_again"]


def test_stock_qgis_runs_inspectraster(in_qgis):
    assert in_qgis["results"] == {
        "BAND_LAYOUT": "nc",
        "CRS": "EPSG:26913",
        "GEOREFERENCING": "geotransform",
        "IS_COG": False,
    }


def version_tuple(text):
    return tuple(int(part) for part in re.match(r"\d+(\.\d+)*", text).group(0).split("."))


def test_vendored_packages_load_from_ext_libs_only_where_qgis_lacks_them(in_qgis):
    ext_libs = in_qgis["plugins"] + "/ls4/ext_libs"
    assert in_qgis["sys_path_tail"] == ext_libs  # appended, not first
    system = in_qgis["system_versions"]
    for module, path in in_qgis["files"].items():
        distribution, minimum = DECIDED_BY[module]
        own = system[distribution]
        if own is None or version_tuple(own) < minimum:
            assert path.startswith(ext_libs + "/"), (module, own, path)
        else:
            assert not path.startswith(ext_libs + "/"), (module, own, path)
    assert in_qgis["presigned"].startswith("https://s3.amazonaws.com/b/x.tif?AWSAccessKeyId=k&")
    assert in_qgis["mapfile_layer"] == "l"


def test_mappyfile_validate_works_in_stock_qgis(in_qgis):
    assert isinstance(in_qgis["validate"], list), in_qgis["validate"]  # else: the exception
    valid, invalid = in_qgis["validate"]
    assert valid == []
    assert "BOGUS".lower() in invalid[0]["error"]


# --- qgis_process, the way staff run batches headless --------------------------------------------


@pytest.fixture(scope="session")
def qgis_process_profile(plugin_zip, tmp_path_factory):
    """A fresh profile with the ZIP unpacked and the plugin enabled via ``qgis_process``."""
    tmp_path = tmp_path_factory.mktemp("qgis_process")
    profiles = tmp_path / "profiles"
    plugins = profiles / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(plugin_zip) as archive:
        archive.extractall(plugins)
    env = clean_env(tmp_path, profiles)
    done = _qgis_process(env, "plugins", "enable", "ls4")
    assert done.returncode == 0, done.stderr
    return env


def _qgis_process(env, *args):
    return subprocess.run(
        ["/usr/bin/qgis_process.bin", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_qgis_process_lists_the_enabled_plugin_and_every_ls4_algorithm(
    qgis_process_profile, in_qgis
):
    plugins = _qgis_process(qgis_process_profile, "plugins")
    assert plugins.returncode == 0, plugins.stderr
    assert re.search(r"^\*\s*ls4\b", plugins.stdout, re.MULTILINE), plugins.stdout
    done = _qgis_process(qgis_process_profile, "--json", "list")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)["providers"]["ls4"]["algorithms"]
    assert sorted(listed) == in_qgis["algorithms"]
    assert len(listed) >= 10


def test_qgis_process_runs_inspectraster(qgis_process_profile, sample_copy, tmp_path):
    report = tmp_path / "report.json"
    done = _qgis_process(
        qgis_process_profile,
        "--json",
        "run",
        "ls4:inspectraster",
        "--",
        f"INPUT={sample_copy}",
        f"OUTPUT_REPORT={report}",
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    assert (results["BAND_LAYOUT"], results["CRS"], results["IS_COG"]) == (
        "nc",
        "EPSG:26913",
        False,
    )
    assert json.loads(report.read_text())["epsg"] == 26913


def test_qgis_process_reports_a_bad_file_clearly(qgis_process_profile, tmp_path):
    text = tmp_path / "scan.tif"
    text.write_text("not an image\n")
    done = _qgis_process(qgis_process_profile, "run", "ls4:inspectraster", "--", f"INPUT={text}")
    assert done.returncode != 0
    assert f"{text}: not a raster file GDAL can read" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


# --- Windows: no POSIX-only assumption in what is deployed ---------------------------------------

POSIX_ONLY_MODULES = {"signal", "fcntl", "pwd", "grp", "termios", "resource", "posix", "pty"}
POSIX_ONLY_CALLS = {"fork", "forkpty", "kill", "killpg", "getuid", "geteuid", "setsid", "getpgid"}
POSIX_PATHS = ("/tmp", "/usr/", "/bin/", "/etc/", "/var/", "/dev/")


def _posix_assumptions(name, tree):
    for node in ast.walk(tree):
        problem = _posix_assumption(node)
        if problem:
            yield f"{name}:{node.lineno} {problem}"


def _posix_assumption(node):
    if isinstance(node, ast.Import):
        modules = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        modules = [node.module or ""]
    else:
        modules = []
    posix = [module for module in modules if module.split(".")[0] in POSIX_ONLY_MODULES]
    if posix:
        return f"imports {posix[0]}"
    if isinstance(node, ast.Attribute) and node.attr in POSIX_ONLY_CALLS:
        return f"os.{node.attr}" if getattr(node.value, "id", None) == "os" else None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return f"hard-coded {node.value!r}" if node.value.startswith(POSIX_PATHS) else None
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "open":
        mode = node.args[1] if len(node.args) > 1 else None
        mode = next((k.value for k in node.keywords if k.arg == "mode"), mode)
        binary = isinstance(mode, ast.Constant) and "b" in str(mode.value)
        if not binary and not any(k.arg == "encoding" for k in node.keywords):
            return "open() in text mode without encoding (the ANSI code page on Windows)"
    return None


def test_deployed_code_makes_no_posix_only_assumption():
    found = []
    for name, path in build.deployable_files(REPO).items():
        if name.endswith(".py"):
            found += _posix_assumptions(name, ast.parse(path.read_bytes(), filename=name))
    assert found == []


def test_the_posix_check_finds_what_it_looks_for():
    source = (
        "import signal\nimport os\nos.fork()\nopen('x.txt')\nopen('x', 'rb')\n"
        "open('y', 'w', encoding='utf-8')\nTMP = '/tmp/ls4'\n"
    )
    found = list(_posix_assumptions("x.py", ast.parse(source)))
    assert sorted(item.split(" ", 1)[0] for item in found) == [
        "x.py:1",
        "x.py:3",
        "x.py:4",
        "x.py:7",
    ]


PURE_SCRIPT = r"""
import datetime, json, sys, warnings
warnings.simplefilter("error")
sys.path.append(sys.argv[1])
import boto3, jsonschema, mappyfile, pystac, rpds
bad = mappyfile.loads('MAP NAME "m" LAYER NAME "l" TYPE BOGUS END END')
s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
item = pystac.Item("x", None, None, datetime.datetime(1963, 5, 1), {})
print(json.dumps({
    "files": [module.__file__ for module in (boto3, jsonschema, mappyfile, pystac, rpds)],
    "error": mappyfile.validate(bad, version=8.0)[0]["error"],
    "url": s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "x.tif"}),
    "item": item.to_dict()["type"],
}))
"""


def test_ext_libs_alone_serves_a_python_with_no_packages(plugin_zip, tmp_path):
    """A QGIS Python with none of the packages (``python3 -S``: no site packages at all), with
    warnings as errors: validation runs on the pure rpds, S3 signs, pystac writes an Item."""
    with zipfile.ZipFile(plugin_zip) as archive:
        archive.extractall(tmp_path)
    ext_libs = tmp_path / "ls4" / "ext_libs"
    command = ["/usr/bin/python3", "-S", "-c", PURE_SCRIPT, str(ext_libs)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env={})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert all(path.startswith(str(ext_libs)) for path in out["files"]), out["files"]
    assert out["files"][-1] == str(ext_libs / "rpds" / "__init__.py")
    assert "'bogus' is not one of" in out["error"]
    assert out["url"].startswith("https://s3.amazonaws.com/b/x.tif?AWSAccessKeyId=k&")
    assert out["item"] == "Feature"


# --- on every QGIS of the matrix (scripts/test.sh runs this file on each leg) --------------------


def test_qgis_process_makes_a_valid_cog_with_the_zip(qgis_process_profile, sample_copy, tmp_path):
    from ls4.ls4_plugin.core.cogcheck import layout_problems

    output = tmp_path / "frame_cog.tif"
    done = _qgis_process(
        qgis_process_profile,
        "--json",
        "run",
        "ls4:makecog",
        "--",
        f"INPUT={sample_copy}",
        f"OUTPUT={output}",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["results"]["OUTPUT"] == str(output)
    errors, _, _ = layout_problems(output)
    assert errors == []


# Loads the ZIP as QGIS desktop loads a plugin (qgis.utils.loadPlugin / startPlugin) with a main
# window and an iface that has what LS4 calls: the dock is built and docked, the menu entries and
# the toolbar icon are added, and unloading takes all of it away again.
DESKTOP_SCRIPT = r"""
import json, os, sys
from qgis.core import QgsApplication
app = QgsApplication([], True)
app.initQgis()
python = os.path.join(QgsApplication.pkgDataPath(), "python")
sys.path += [python, os.path.join(python, "plugins")]
import qgis.utils
from processing.core.Processing import Processing
from pyplugin_installer.unzip import unzip
from qgis.gui import QgsMapCanvas
from qgis.PyQt.QtWidgets import QDockWidget, QMainWindow


class Iface:
    def __init__(self):
        self.window = QMainWindow()
        self.canvas = QgsMapCanvas(self.window)
        self.window.setCentralWidget(self.canvas)
        self.menus, self.icons = [], []

    def mainWindow(self):
        return self.window

    def mapCanvas(self):
        return self.canvas

    def addDockWidget(self, area, dock):
        self.window.addDockWidget(area, dock)

    def removeDockWidget(self, dock):
        self.window.removeDockWidget(dock)

    def addPluginToMenu(self, menu, action):
        self.menus.append((menu, action.objectName()))

    def removePluginMenu(self, menu, action):
        self.menus.remove((menu, action.objectName()))

    def addToolBarIcon(self, action):
        self.icons.append(action.objectName())

    def removeToolBarIcon(self, action):
        if action.objectName() in self.icons:
            self.icons.remove(action.objectName())


plugins = os.path.join(QgsApplication.qgisSettingsDirPath(), "python", "plugins")
unzip(sys.argv[1], plugins)
sys.path.insert(0, plugins)
qgis.utils.plugin_paths.insert(0, plugins)
qgis.utils.updateAvailablePlugins()
Processing.initialize()
iface = qgis.utils.iface = Iface()
out = {"loaded": qgis.utils.loadPlugin("ls4"), "started": qgis.utils.startPlugin("ls4")}
provider = QgsApplication.processingRegistry().providerById("ls4")
out["algorithms"] = sorted(alg.id() for alg in provider.algorithms()) if provider else []
docks = [d for d in iface.window.findChildren(QDockWidget) if d.parent() is iface.window]
out["docks"] = [type(d).__name__ for d in docks]
out["dock_area"] = [int(iface.window.dockWidgetArea(d)) for d in docks]
out["dock_children"] = sum(len(d.findChildren(object)) for d in docks)
out["menus"], out["icons"] = list(iface.menus), list(iface.icons)
out["unloaded"] = qgis.utils.unloadPlugin("ls4")
app.processEvents()
out["after"] = {"menus": iface.menus, "icons": iface.icons,
                "provider": QgsApplication.processingRegistry().providerById("ls4") is not None}
print("LS4-RESULT " + json.dumps(out))
app.exitQgis()
"""


def test_desktop_load_of_the_zip_builds_the_dock_with_every_algorithm(
    plugin_zip, in_qgis, tmp_path
):
    profiles = tmp_path / "profiles"
    command = ["/usr/bin/python3", "-c", DESKTOP_SCRIPT, str(plugin_zip)]
    done = subprocess.run(
        command, env=clean_env(tmp_path, profiles), capture_output=True, text=True, timeout=120
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("LS4-RESULT ")]
    assert lines, f"QGIS script failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    out = json.loads(lines[-1][len("LS4-RESULT ") :])
    assert out["loaded"] and out["started"] and out["unloaded"]
    assert out["algorithms"] == in_qgis["algorithms"] and len(out["algorithms"]) >= 10
    assert out["docks"] == ["Ls4Dock"]
    assert out["dock_area"] == [2]  # Qt.DockWidgetArea.RightDockWidgetArea
    assert out["dock_children"] > 10  # the panel's widgets were made
    assert sorted(name for _, name in out["menus"]) == ["mActionLs4Panel", "mActionLs4Settings"]
    assert out["icons"] == ["mActionLs4Panel"]
    assert out["after"] == {"menus": [], "icons": [], "provider": False}
