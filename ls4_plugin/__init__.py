"""LS4 plugin package.

The plugin ZIP carries the Python packages stock QGIS lacks in ``ext_libs``. It goes first on
``sys.path``: mappyfile 1.2 needs jsonschema ≥ 4.18, newer than Debian 12's 4.10, so the vendored
one must win (it is API-compatible for other users of jsonschema in the same QGIS).
"""

import os
import sys

_EXT_LIBS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ext_libs")
if os.path.isdir(_EXT_LIBS) and _EXT_LIBS not in sys.path:
    sys.path.insert(0, _EXT_LIBS)
