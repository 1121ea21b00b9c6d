"""Wires the Processing provider, dock and actions into QGIS; ``unload`` undoes all of it."""

from qgis.core import QgsApplication

from ..processing_provider.provider import Ls4Provider


class Ls4Plugin:
    MENU = "&LS4"

    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.actions = []
        self.dock = None

    def initProcessing(self):  # noqa: N802 (QGIS's name)
        if self.provider is None:
            self.provider = Ls4Provider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802
        self.initProcessing()

    def unload(self):
        for action in self.actions:
            self.iface.removePluginMenu(self.MENU, action)
            self.iface.removeToolBarIcon(action)
            action.deleteLater()
        self.actions = []
        if self.dock is not None:
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
