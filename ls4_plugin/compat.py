"""Names that moved between the QGIS versions LS4 runs on (3.22 with Qt 5 up to QGIS 4 with Qt 6).

One place for them, so the rest of the plugin is written once, in the form QGIS 4 keeps.
"""

try:  # Qt 6 (QGIS 4) has QAction in QtGui; qgis.PyQt.QtGui re-exports it from QGIS 3.34 on Qt 5
    from qgis.PyQt.QtGui import QAction
except ImportError:  # QGIS 3.22-3.32 on Qt 5: only QtWidgets has it
    from qgis.PyQt.QtWidgets import QAction

__all__ = ["QAction"]
