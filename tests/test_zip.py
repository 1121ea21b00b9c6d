"""The plugin ZIP: what it holds, and that stock QGIS (no venv) installs, loads and runs it.

The ZIP is built once per session. QGIS runs in subprocesses of Debian's ``/usr/bin/python3`` and
``/usr/bin/qgis_process.bin`` with a clean environment (no venv, no PYTHONPATH) and a fresh
profile folder, so every package the plugin imports comes from Debian or from ``ext_libs``.
"""

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tools.build_zip import REPO, build_zip

VENDORED_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "mappyfile", "lark")
VENDORED_MODULES += ("referencing", "rpds", "typing_extensions")
NEVER_SHIPPED = ("tests/", "tools/", "benchmarks/", "scripts/", "build/", "dist/", ".venv/")

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
plugins = os.path.join(QgsApplication.qgisSettingsDirPath(), "python", "plugins")
unzip(zip_path, plugins)
sys.path.insert(0, plugins)  # QGIS puts the profile's plugin folder first
qgis.utils.plugin_paths.insert(0, plugins)
qgis.utils.updateAvailablePlugins()
Processing.initialize()
out = {"plugins": plugins, "available": "ls4" in qgis.utils.available_plugins}
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
    command.append(",".join(VENDORED_MODULES))
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
    # rpds-py is compiled: the wheel for this Python (3.11) and platform
    assert any(
        name.startswith("ls4/ext_libs/rpds/") and ".cpython-311-x86_64-linux-gnu.so" in name
        for name in zip_names
    )
    assert "ls4/ext_libs/boto3-1.44.8.dist-info/METADATA" in zip_names  # the pinned version
    assert not any(name.startswith("ls4/ext_libs/bin/") for name in zip_names)


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


def test_stock_qgis_runs_inspectraster(in_qgis):
    assert in_qgis["results"] == {
        "BAND_LAYOUT": "nc",
        "CRS": "EPSG:26913",
        "GEOREFERENCING": "geotransform",
        "IS_COG": False,
    }


def test_vendored_packages_load_from_ext_libs(in_qgis):
    ext_libs = in_qgis["plugins"] + "/ls4/ext_libs/"
    for module, path in in_qgis["files"].items():
        assert path.startswith(ext_libs), (module, path)
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
