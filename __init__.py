"""LS4 for QGIS: scanned aerial photographs to published map services."""


def classFactory(iface):
    from .ls4_plugin.plugin import Ls4Plugin

    return Ls4Plugin(iface)
