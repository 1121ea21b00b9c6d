"""LS4 plugin package.

The plugin ZIP carries pure-Python copies of the packages QGIS may lack in ``ext_libs`` (beside
this package; a source checkout has none). ``vendored.use_ext_libs`` puts it at the end of
``sys.path`` and serves from it only the packages QGIS's Python has too old and nobody has imported
yet, so other plugins keep the packages they import.
"""

import os

from .vendored import use_ext_libs

use_ext_libs(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ext_libs"))
