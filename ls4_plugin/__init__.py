"""LS4 plugin package.

The plugin ZIP carries the pure-Python packages stock QGIS lacks in ``ext_libs``. It is appended
to ``sys.path`` (not prepended) so that packages QGIS already ships always win.
"""

import os
import sys

_EXT_LIBS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ext_libs")
if os.path.isdir(_EXT_LIBS) and _EXT_LIBS not in sys.path:
    sys.path.append(_EXT_LIBS)
