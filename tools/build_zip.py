"""Build the plugin ZIP that QGIS installs: ``dist/ls4-<version>.zip`` (``make zip``).

The ZIP holds one top folder, ``ls4/``, with exactly what ``pb_tool.cfg`` deploys (python_files,
extras, extra_dirs; no caches, hidden files or translation sources), the translations compiled
with ``lrelease``, and ``ls4/ext_libs/`` with the packages stock QGIS on Debian 12 lacks, at the
versions pinned in ``requirements.txt``. ``rpds-py`` is a compiled wheel: ext_libs carries the one
for the Python and platform that run this build (QGIS's own Python when run from the venv).

The output is deterministic: entries sorted, every timestamp fixed, permissions normalised.
"""

import argparse
import configparser
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLUGIN = "ls4"
# What stock QGIS 3.22 on Debian 12 lacks; typing-extensions is what referencing needs below 3.13
VENDORED = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "mappyfile",
    "lark",
    "referencing",
    "rpds-py",
    "typing-extensions",
    "jsonschema",
    "jsonschema-specifications",
)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a ZIP entry can carry
SKIPPED_DIRS = {"__pycache__"}
SKIPPED_SUFFIXES = {".pyc", ".pyo", ".ts"}


class BuildError(Exception):
    """The ZIP cannot be built; the message says which file or tool is at fault."""


def build_zip(output_dir=None, repo=REPO):
    """Build the plugin ZIP into ``output_dir`` (default ``<repo>/dist``); returns its path."""
    repo = Path(repo)
    output_dir = Path(output_dir) if output_dir else repo / "dist"
    target = output_dir / f"{PLUGIN}-{plugin_version(repo)}.zip"
    with tempfile.TemporaryDirectory(prefix="ls4-zip-") as scratch:
        entries = deployable_files(repo)
        entries.update(compiled_translations(repo, Path(scratch)))
        libs = ext_libs(repo)
        entries.update({f"ext_libs/{path.relative_to(libs)}": path for path in _walk(libs)})
        output_dir.mkdir(parents=True, exist_ok=True)
        _write_zip(target, entries)
    return target


def plugin_version(repo=REPO):
    metadata = configparser.ConfigParser(interpolation=None)
    metadata.read(Path(repo) / "metadata.txt", encoding="utf-8")
    try:
        return metadata["general"]["version"].strip()
    except KeyError as error:
        raise BuildError(f"{Path(repo) / 'metadata.txt'}: no version in [general]") from error


def deployable_files(repo=REPO):
    """``{name inside ls4/: source path}`` for what pb_tool.cfg deploys."""
    repo = Path(repo)
    config = configparser.ConfigParser(interpolation=None)
    config.read(repo / "pb_tool.cfg", encoding="utf-8")
    files = config["files"]
    entries = {}
    for name in files.get("python_files", "").split() + files.get("extras", "").split():
        if not (repo / name).is_file():
            raise BuildError(f"{repo / 'pb_tool.cfg'}: {name} is listed but does not exist")
        entries[name] = repo / name
    for folder in files.get("extra_dirs", "").split():
        # a folder with nothing tracked in it (i18n/ before any translation) is not in a clone
        for path in _walk(repo / folder):
            entries[path.relative_to(repo).as_posix()] = path
    return entries


def compiled_translations(repo, scratch):
    """``{i18n/<name>.qm: compiled file}`` for every ``i18n/*.ts``, compiled with lrelease."""
    sources = sorted((Path(repo) / "i18n").glob("*.ts"))
    if not sources:
        return {}
    lrelease = shutil.which("lrelease") or shutil.which("lrelease-qt5")
    if lrelease is None:
        raise BuildError("lrelease not found: install qttools5-dev-tools to compile i18n/*.ts")
    compiled = {}
    for source in sources:
        target = scratch / f"{source.stem}.qm"
        _run([lrelease, "-silent", str(source), "-qm", str(target)], f"lrelease {source}")
        compiled[f"i18n/{target.name}"] = target
    return compiled


def ext_libs(repo=REPO):
    """The folder of vendored packages, installed once per set of pins and kept in build/."""
    specs = vendored_specs(repo)
    platform = f"{sys.implementation.cache_tag}-{sysconfig.get_platform()}"
    key = hashlib.sha256("\n".join([platform, *specs]).encode()).hexdigest()[:16]
    folder = Path(repo) / "build" / f"ext_libs-{key}"
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="ext_libs-", dir=folder.parent))
    try:
        _pip_install(specs, staging)
        shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts for the venv
        os.rename(staging, folder)
    except OSError:
        if not folder.is_dir():  # another build won the race: its folder is as good
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def vendored_specs(repo=REPO):
    """``name==version`` for each vendored package, in VENDORED order.

    The version is the one pinned in requirements.txt; for a package not pinned there, the one
    installed in this environment (the venv the tests run in), said on stderr.
    """
    pins = {}
    for line in (Path(repo) / "requirements.txt").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)", line)
        if match:
            pins[_normalise(match.group(1))] = match.group(2)
    specs = []
    for name in VENDORED:
        version = pins.get(_normalise(name)) or _installed_version(name, repo)
        specs.append(f"{name}=={version}")
    return specs


def _installed_version(name, repo):
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError as error:
        raise BuildError(
            f"{Path(repo) / 'requirements.txt'}: no pinned version for {name}, "
            "and it is not installed here either"
        ) from error
    print(f"build_zip: {name} is not pinned in requirements.txt; using {version}", file=sys.stderr)
    return version


def _normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _pip_install(specs, target):
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--no-deps", "--only-binary=:all:", "--no-compile", "--target", str(target)]
    _run(command + specs, "pip install of the vendored packages")


def _run(command, what):
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(f"{what} failed: {(result.stderr or result.stdout).strip()}")


def _walk(folder):
    """The files below ``folder``, sorted, without caches, hidden files and translation sources."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in files:
            if not name.startswith(".") and Path(name).suffix not in SKIPPED_SUFFIXES:
                found.append(Path(root) / name)
    return sorted(found)


def _write_zip(target, entries):
    """Write ``entries`` under ``ls4/`` to ``target`` atomically: no partial ZIP is ever left."""
    folders = {f"{parent.as_posix()}/" for name in entries for parent in Path(name).parents}
    members = {f"{PLUGIN}/{name}": path for name, path in entries.items()}
    members.update({f"{PLUGIN}/{folder}".replace("/./", "/"): None for folder in folders})
    partial = target.with_name(target.name + ".part")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for name in sorted(members):
                info = zipfile.ZipInfo(name, ZIP_TIME)
                if members[name] is None:
                    info.external_attr = (0o40755 << 16) | 0x10  # a folder, for unzip tools
                    archive.writestr(info, b"")
                else:
                    info.external_attr = 0o100644 << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, members[name].read_bytes())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", help="where to write the ZIP (default: dist/)")
    args = parser.parse_args(argv)
    try:
        target = build_zip(args.output_dir)
    except BuildError as error:
        print(f"build_zip: {error}", file=sys.stderr)
        return 1
    print(f"{target} ({target.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
