"""ext_libs never changes what other plugins import (ls4_plugin/vendored.py).

Each case runs in a fresh ``python3 -S`` (no site packages) whose ``sys.path`` holds a fake
"system" folder and a fake ext_libs, each with small packages and their dist-info, so what is
installed, what is too old and what is already imported are known exactly.
"""

import json
import subprocess
import sys
import textwrap

from tools.build_zip import REPO


def _package(root, module, version, distribution=None):
    (root / module).mkdir(parents=True)
    (root / module / "__init__.py").write_text(f"VERSION = {version!r}\n")
    dist = root / f"{distribution or module}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution or module}\nVersion: {version}\n"
    )


def _run(tmp_path, system, preload=(), calls=1):
    """Import ls4_plugin.vendored, use the fake ext_libs, import everything; report who won."""
    ext_libs = tmp_path / "ext_libs"
    args = {"system": str(system), "ext_libs": str(ext_libs), "preload": list(preload)}
    args.update(vendored=str(REPO / "ls4_plugin" / "vendored.py"), calls=calls)
    script = textwrap.dedent(
        """
        import importlib.util, json, sys
        args = json.loads(sys.argv[1])
        sys.path.insert(0, args["system"])
        for name in args["preload"]:
            __import__(name)
        spec = importlib.util.spec_from_file_location("vendored", args["vendored"])
        vendored = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(vendored)
        for _ in range(args["calls"]):
            finder = vendored.use_ext_libs(args["ext_libs"])
        ours = [f for f in sys.meta_path if type(f).__name__ == "ExtLibsFinder"]
        out = {"tail": sys.path[-1], "finders": len(ours)}
        out["served"] = sorted(finder.names) if finder else []
        for name in ("jsonschema", "referencing", "boto3", "botocore", "lark"):
            module = __import__(name)
            where = "ext_libs" if module.__file__.startswith(args["ext_libs"]) else "system"
            out[name] = [module.VERSION, where]
        print(json.dumps(out))
        """
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", script, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _ext_libs(tmp_path):
    ext_libs = tmp_path / "ext_libs"
    for module, version in (("jsonschema", "4.25.1"), ("referencing", "0.36.2")):
        _package(ext_libs, module, version)
    _package(ext_libs, "jsonschema_specifications", "2025.9.1", "jsonschema-specifications")
    for module, version in (("boto3", "1.42.97"), ("botocore", "1.42.97"), ("lark", "1.3.1")):
        _package(ext_libs, module, version)
    _package(ext_libs, "s3transfer", "0.16.1")
    return ext_libs


def test_ext_libs_goes_last_and_fills_only_what_the_system_lacks(tmp_path):
    ext_libs = _ext_libs(tmp_path)
    system = tmp_path / "system"
    _package(system, "lark", "1.2.2")  # new enough: the system's wins
    _package(system, "jsonschema", "4.19.2")
    _package(system, "referencing", "0.35.1")
    out = _run(tmp_path, system)
    assert out["tail"] == str(ext_libs)
    assert out["lark"] == ["1.2.2", "system"]
    assert out["jsonschema"] == ["4.19.2", "system"]
    assert out["referencing"] == ["0.35.1", "system"]
    assert out["boto3"] == ["1.42.97", "ext_libs"]
    assert out["botocore"] == ["1.42.97", "ext_libs"]


def test_a_system_package_too_old_for_ls4_is_served_from_ext_libs_with_its_group(tmp_path):
    """Debian 12: jsonschema 4.10 (mappyfile needs >= 4.18); and botocore without boto3."""
    _ext_libs(tmp_path)
    system = tmp_path / "system"
    _package(system, "jsonschema", "4.10.3")
    _package(system, "botocore", "1.29.0")  # no boto3: the three come from one place
    out = _run(tmp_path, system)
    assert out["jsonschema"] == ["4.25.1", "ext_libs"]
    assert out["referencing"] == ["0.36.2", "ext_libs"]
    assert out["boto3"] == ["1.42.97", "ext_libs"]
    assert out["botocore"] == ["1.42.97", "ext_libs"]
    assert set(out["served"]) >= {"jsonschema", "referencing", "jsonschema_specifications"}


def test_a_package_another_plugin_already_imported_is_never_replaced(tmp_path):
    _ext_libs(tmp_path)
    system = tmp_path / "system"
    _package(system, "jsonschema", "4.10.3")
    out = _run(tmp_path, system, preload=["jsonschema"])
    assert out["jsonschema"] == ["4.10.3", "system"]
    assert "jsonschema" not in out["served"] and "referencing" not in out["served"]


def test_loading_the_plugin_twice_keeps_one_finder(tmp_path):
    _ext_libs(tmp_path)
    system = tmp_path / "system"
    _package(system, "jsonschema", "4.10.3")
    out = _run(tmp_path, system, calls=2)
    assert out["finders"] == 1
    assert out["jsonschema"] == ["4.25.1", "ext_libs"]
