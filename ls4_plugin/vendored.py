"""Which copy of a vendored package LS4 uses: QGIS's own where it is good enough, else ext_libs.

The plugin ZIP carries pure-Python packages in ``ext_libs`` (tools/build_zip.py). Other plugins run
in the same Python, so LS4 must not change what they import:

- ``ext_libs`` goes at the END of ``sys.path``: a package QGIS's Python already has wins, and a
  package it lacks comes from ext_libs;
- a package whose installed version is older than LS4 needs (Debian 12's jsonschema 4.10, where
  mappyfile needs >= 4.18) and that nothing has imported yet is served from ext_libs by a finder on
  ``sys.meta_path``: that group of modules only, never the whole folder;
- a module already imported (by QGIS or by a plugin loaded earlier) is never replaced: LS4 then
  works with it as it is.

Nothing here imports the packages it decides about.
"""

import importlib.abc
import importlib.machinery
import importlib.metadata
import os
import re
import sys

# (modules that must come from one place, the distribution whose version decides, minimum version)
GROUPS = (
    (("boto3", "botocore", "s3transfer"), "boto3", (1, 26)),
    (("jsonschema", "jsonschema_specifications", "referencing"), "jsonschema", (4, 18)),
    (("mappyfile",), "mappyfile", (1, 0)),
    (("lark",), "lark", (1, 1, 5)),
    (("attr", "attrs"), "attrs", (22, 2)),
    (("typing_extensions",), "typing_extensions", (4, 4)),
)


class ExtLibsFinder(importlib.abc.MetaPathFinder):
    """Finds the top-level modules ``names`` in ``folder`` only (their submodules follow)."""

    def __init__(self, folder, names):
        self.folder = folder
        self.names = frozenset(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.names:
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, [self.folder])

    def __repr__(self):
        return f"ExtLibsFinder({self.folder!r}, {sorted(self.names)})"


def use_ext_libs(folder):
    """Make the packages of ``folder`` available as the module docstring says.

    Returns the finder serving the too-old groups from ``folder`` (None: no group needs it).

    Idempotent: a second call (the plugin reloaded) replaces the first call's finder.
    """
    folder = os.path.abspath(folder)
    if not os.path.isdir(folder):
        return None
    if folder not in (os.path.abspath(path) for path in sys.path if path):
        sys.path.append(folder)
    names = set()
    for modules, distribution, minimum in GROUPS:
        if any(module in sys.modules for module in modules):
            continue  # never replace what is loaded
        if not all(_in_folder(folder, module) for module in modules):
            continue  # ext_libs does not carry this group
        version = installed_version(distribution, folder)
        if version is None or version < minimum:
            names.update(modules)
    sys.meta_path[:] = [f for f in sys.meta_path if not _is_ours(f, folder)]
    if not names:
        return None
    finder = ExtLibsFinder(folder, names)
    sys.meta_path.insert(0, finder)
    return finder


def installed_version(distribution, folder):
    """The version tuple of ``distribution`` as installed outside ``folder`` (None: not there)."""
    paths = [path for path in sys.path if os.path.abspath(path or os.curdir) != folder]
    for name in {distribution, distribution.replace("_", "-"), distribution.replace("-", "_")}:
        for found in importlib.metadata.distributions(name=name, path=paths):
            match = re.match(r"\d+(\.\d+)*", found.version or "")
            if match:
                return tuple(int(part) for part in match.group(0).split("."))
    return None


def _in_folder(folder, module):
    return os.path.isdir(os.path.join(folder, module)) or os.path.isfile(
        os.path.join(folder, f"{module}.py")
    )


def _is_ours(finder, folder):
    return type(finder).__name__ == "ExtLibsFinder" and getattr(finder, "folder", None) == folder
