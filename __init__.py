"""LS4 for QGIS: scanned aerial photographs to published map services."""


def classFactory(iface):  # noqa: N802 (QGIS's name)
    from .ls4_plugin.plugin import Ls4Plugin

    return Ls4Plugin(iface)
