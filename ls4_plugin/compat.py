"""Names that moved between the QGIS versions LS4 runs on (3.22 with Qt 5 up to QGIS 4 with Qt 6).

One place for them, so the rest of the plugin is written once, in the form QGIS 4 keeps.
"""

from qgis.core import Qgis, QgsField

try:  # Qt 6 (QGIS 4) has QAction in QtGui; qgis.PyQt.QtGui re-exports it from QGIS 3.34 on Qt 5
    from qgis.PyQt.QtGui import QAction
except ImportError:  # QGIS 3.22-3.32 on Qt 5: only QtWidgets has it
    from qgis.PyQt.QtWidgets import QAction

__all__ = ["QAction", "field"]

# QgsField takes a QMetaType.Type from QGIS 3.38 on (the QVariant.Type form warns as deprecated
# there, and QVariant.Type is gone in Qt 6); 3.22 to 3.36 take only the QVariant.Type.
if Qgis.QGIS_VERSION_INT >= 33800:
    from qgis.PyQt.QtCore import QMetaType

    _TYPES = {"string": QMetaType.Type.QString, "double": QMetaType.Type.Double}
    _TYPES.update(int=QMetaType.Type.Int, long=QMetaType.Type.LongLong)
else:
    from qgis.PyQt.QtCore import QVariant

    _TYPES = {"string": QVariant.String, "double": QVariant.Double}
    _TYPES.update(int=QVariant.Int, long=QVariant.LongLong)


def field(name, kind):
    """A ``QgsField`` named ``name`` of ``kind``: "string", "double", "int" or "long"."""
    return QgsField(name, _TYPES[kind])
