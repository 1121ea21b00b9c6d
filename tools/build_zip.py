"""Build the plugin ZIP that QGIS installs: ``dist/ls4-<version>.zip`` (``make zip``).

The ZIP holds one top folder, ``ls4/``, with exactly what ``pb_tool.cfg`` deploys (python_files,
extras, extra_dirs; no caches, hidden files or translation sources), the translations compiled
with ``lrelease``, and ``ls4/ext_libs/`` with the packages pinned in ``requirements-zip.txt``.

Any QGIS on any OS must load it, so ext_libs holds pure Python only: pip installs the pins with
``--platform any --abi none --implementation py --python-version 3.10`` (it refuses a compiled
wheel, or one that does not admit Python 3.10), and the build checks every file and every wheel tag
again. ``rpds-py`` (what jsonschema >= 4.18 and referencing import) is compiled: ext_libs carries
``pyrsistent-as-rpds-py`` (rpds-py's API over pure-Python pyrsistent) and a two-line ``rpds``
module naming it. ``ls4_plugin/__init__.py`` decides which copy of each package the plugin uses.

Before it says where the ZIP is, the build checks it as the QGIS plugin repository
(plugins.qgis.org) does on upload: size, one top folder, no ``.pyc``/``__pycache__``,
``__init__.py``, the required metadata, icon, LICENSE. The output is deterministic: entries
sorted, timestamps fixed, permissions normalised.
"""

import argparse
import configparser
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parents[1]
PLUGIN = "ls4"
PINS = "requirements-zip.txt"
OLDEST_PYTHON = "3.10"  # LS4's own code needs 3.10: zip(strict=), dataclass(kw_only=)
# What the build adds to ext_libs besides the wheels: rpds-py's import name over the pure adapter
RPDS_ALIAS = (
    '"""rpds-py\'s API in pure Python for LS4\'s ext_libs (rpds-py itself is compiled Rust).\n\n'
    "ext_libs is at the end of sys.path: an rpds-py of QGIS's own Python comes first and wins.\n"
    '"""\n\n'
    "from pyrsistent_as_rpds.pure import *  # noqa: F403\n"
)
COMPILED_SUFFIXES = (".so", ".pyd", ".dll", ".dylib", ".exe", ".a", ".lib", ".o")
# plugins.qgis.org: what its upload validator requires (QGIS-Django, plugins/validator.py)
REPOSITORY_MAX_BYTES = 25_000_000
REPOSITORY_METADATA = (
    "name",
    "description",
    "version",
    "qgisMinimumVersion",
    "author",
    "email",
    "about",
    "tracker",
    "repository",
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
        entries.update({f"ext_libs/{p.relative_to(libs).as_posix()}": p for p in _walk(libs)})
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
    key = hashlib.sha256("\n".join([OLDEST_PYTHON, RPDS_ALIAS, *specs]).encode()).hexdigest()[:16]
    folder = Path(repo) / "build" / f"ext_libs-{key}"
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="ext_libs-", dir=folder.parent))
    try:
        _pip_install(specs, staging)
        shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts for a venv
        (staging / "rpds").mkdir()
        (staging / "rpds" / "__init__.py").write_text(RPDS_ALIAS, encoding="utf-8")
        problems = vendored_problems(staging)
        if problems:
            raise BuildError("ext_libs is not pure Python: " + "; ".join(problems))
        os.rename(staging, folder)
    except OSError:
        if not folder.is_dir():  # another build won the race: its folder is as good
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def vendored_specs(repo=REPO):
    """``name==version`` for each vendored distribution, as ``requirements-zip.txt`` pins them."""
    path = Path(repo) / PINS
    specs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if not match:
            raise BuildError(f"{path}: {line!r} is not a name==version pin")
        specs.append(line)
    if not specs:
        raise BuildError(f"{path}: no pins")
    return specs


def vendored_problems(folder):
    """What keeps ext_libs ``folder`` from loading in any QGIS: compiled files, impure wheels."""
    folder = Path(folder)
    problems = [
        f"{path.relative_to(folder).as_posix()} is compiled"
        for path in _walk(folder)
        if path.name.lower().endswith(COMPILED_SUFFIXES) or ".so." in path.name
    ]
    dists = sorted(folder.glob("*.dist-info"))
    if not dists:
        problems.append("no *.dist-info: the vendored packages cannot be checked")
    for dist in dists:
        tags, purelib = wheel_tags((dist / "WHEEL").read_text(encoding="utf-8"))
        if not is_pure(tags, purelib):
            problems.append(f"{dist.name} is not a pure-Python wheel ({', '.join(sorted(tags))})")
    return problems


def wheel_tags(text):
    """``({tag, ...}, Root-Is-Purelib)`` of the text of a dist-info's WHEEL file."""
    tags, purelib = set(), False
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Tag":
            tags.add(value.strip())
        elif key.strip() == "Root-Is-Purelib":
            purelib = value.strip().lower() == "true"
    return tags, purelib


def is_pure(tags, purelib):
    """A wheel any Python 3 on any OS runs: ``py3-none-any`` (or ``py2.py3-``, or py2 and py3)."""
    pure = {"py3-none-any", "py2.py3-none-any", "py2-none-any"}
    return purelib and bool(tags) and tags <= pure and tags != {"py2-none-any"}


def repository_problems(zip_path):
    """What the QGIS plugin repository's upload check would refuse in ``zip_path`` (none: ``[]``).

    The checks of plugins.qgis.org's validator, without its network check that the URLs answer,
    plus: no compiled file anywhere, every vendored wheel pure.
    """
    problems = []
    size = Path(zip_path).stat().st_size
    if size > REPOSITORY_MAX_BYTES:
        problems.append(f"{size} bytes, over the repository's {REPOSITORY_MAX_BYTES}")
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        bad = archive.testzip()
        if bad is not None:
            problems.append(f"bad CRC in {bad}")
        for name in names:
            problems += _entry_problems(name)
        tops = {name.split("/")[0] for name in names}
        if tops != {PLUGIN}:
            problems.append(f"top folders {sorted(tops)}, not just {PLUGIN}/")
        required = ("__init__.py", "metadata.txt", "LICENSE")
        problems += [f"no {PLUGIN}/{name}" for name in required if f"{PLUGIN}/{name}" not in names]
        if f"{PLUGIN}/metadata.txt" in names:
            general = _metadata(archive.read(f"{PLUGIN}/metadata.txt").decode("utf-8"))
            problems += metadata_problems(general, names)
        for name in names:
            if name.startswith(f"{PLUGIN}/ext_libs/") and name.endswith(".dist-info/WHEEL"):
                tags, purelib = wheel_tags(archive.read(name).decode("utf-8"))
                if not is_pure(tags, purelib):
                    problems.append(f"{name}: not a pure-Python wheel ({', '.join(sorted(tags))})")
    return problems


def _entry_problems(name):
    parts = name.split("/")
    problems = []
    if ".." in name or name.startswith(("/", "\\")) or "\\" in name:
        problems.append(f"{name}: path information")
    if ".pyc" in name:
        problems.append(f"{name}: a .pyc file")
    if {"__MACOSX", ".git", "__pycache__"} & set(parts):
        problems.append(f"{name}: a forbidden folder")
    if name.lower().endswith(COMPILED_SUFFIXES) or ".so." in parts[-1]:
        problems.append(f"{name}: a compiled file")
    return problems


def metadata_problems(general, names):
    """What the repository refuses in metadata.txt's ``[general]`` (a dict) of a ZIP's ``names``."""
    problems = [f"metadata.txt: no {key}" for key in REPOSITORY_METADATA if not general.get(key)]
    if "/" in general.get("author", ""):
        problems.append("metadata.txt: author contains a slash")
    for key in ("tracker", "repository", "homepage"):
        url = urlparse(general.get(key, ""))
        if key in general and not (url.scheme in ("http", "https") and url.netloc):
            problems.append(f"metadata.txt: {key} is not a web address")
    icon = general.get("icon", "").removeprefix("./")
    if not icon or f"{PLUGIN}/{icon}" not in names:
        problems.append(f"metadata.txt: icon {icon!r} is not in the ZIP")
    return problems


def _metadata(text):
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys keep their case (qgisMinimumVersion)
    parser.read_file(io.StringIO(text))
    return dict(parser["general"]) if parser.has_section("general") else {}


def _pip_install(specs, target):
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--no-deps", "--only-binary=:all:", "--no-compile", "--target", str(target)]
    command += ["--platform", "any", "--abi", "none", "--implementation", "py"]
    command += ["--python-version", OLDEST_PYTHON]
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
    problems = repository_problems(target)
    for problem in problems:
        print(f"build_zip: {target}: {problem}", file=sys.stderr)
    size = target.stat().st_size
    print(f"{target} {size} bytes ({size / 1e6:.1f} MB of the repository's 25 MB)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
