"""ls4_plugin/compat.py: one spelling that works with no deprecation warning, QGIS 3.22 to 3.44."""

import warnings

from qgis.core import QgsField
from qgis.PyQt.QtCore import QVariant

from ls4.ls4_plugin import compat


def test_field_makes_the_field_types_every_qgis_reads_alike():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 3.38+: QgsField(name, QVariant.Type) is deprecated
        made = {kind: compat.field(kind, kind) for kind in ("string", "double", "int", "long")}
    assert all(isinstance(made_field, QgsField) for made_field in made.values())
    assert {kind: made_field.name() for kind, made_field in made.items()} == {k: k for k in made}
    wanted = {"string": QVariant.String, "double": QVariant.Double, "int": QVariant.Int}
    wanted["long"] = QVariant.LongLong
    assert {kind: int(made_field.type()) for kind, made_field in made.items()} == {
        kind: int(value) for kind, value in wanted.items()
    }


def test_qaction_is_qt_s_qaction(qgis_app):
    action = compat.QAction("LS4 panel")
    assert type(action).__name__ == "QAction" and action.text() == "LS4 panel"
