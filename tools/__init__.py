"""Developer tools (the local stack, the demo, the ZIP build). Not deployed with the plugin.

Importing this package makes the repository importable as the package ``ls4``, the name QGIS
gives the deployed plugin, so tools and tests import exactly what QGIS loads.
"""

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _register_plugin_package():
    if "ls4" in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(
        "ls4", REPO / "__init__.py", submodule_search_locations=[str(REPO)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["ls4"] = module
    spec.loader.exec_module(module)


_register_plugin_package()
