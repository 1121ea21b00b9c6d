"""Wires the Processing provider, dock and actions into QGIS; ``unload`` undoes all of it."""

import os
import sys

from qgis.core import QgsApplication, QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, Qt, QTranslator
from qgis.PyQt.QtGui import QIcon

from ..processing_provider import algorithms
from ..processing_provider.provider import ICON, Ls4Provider
from .compat import QAction
from .core import storage

TR_CONTEXT = "Ls4Plugin"
I18N_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "i18n")


def tr(text):
    return QCoreApplication.translate(TR_CONTEXT, text)


def user_locale():
    """QGIS's user interface language, e.g. "es" (QGIS keeps it even when not overridden)."""
    locale = QgsSettings().value("locale/userLocale", "") or QgsApplication.locale() or ""
    return locale[:2]


def load_translator(locale, folder=I18N_DIR):
    """A translator loaded with ``ls4_<locale>.qm`` from ``folder``, or None when there is none."""
    path = os.path.join(folder, f"ls4_{locale}.qm")
    translator = QTranslator()
    if locale and os.path.exists(path) and translator.load(path):
        return translator
    return None


def forget_algorithm_modules():
    """Drop the algorithm modules from ``sys.modules``.

    QGIS's ``unloadPlugin`` (disable/enable, Plugin Reloader) forgets the modules a plugin imported
    with ``import``; the provider finds its algorithms with ``importlib``, which QGIS does not see.
    Kept, they would still subclass the old ``Ls4Algorithm`` after a reload and be skipped, leaving
    the provider empty: forgotten, the reloaded provider imports them afresh.
    """
    prefix = f"{algorithms.__name__}."
    for name in [name for name in sys.modules if name.startswith(prefix)]:
        del sys.modules[name]


class Ls4Plugin:
    MENU = "&LS4"

    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.actions = []
        self.dock = None
        self.translator = None
        self.i18n_dir = I18N_DIR

    def initProcessing(self):
        if self.provider is None:
            provider = Ls4Provider()
            if QgsApplication.processingRegistry().addProvider(provider):
                self.provider = provider

    def initGui(self):
        # First: the dock's and the menus' strings are translated when they are made.
        self.translator = load_translator(user_locale(), self.i18n_dir)
        if self.translator is not None:
            QCoreApplication.installTranslator(self.translator)
        self.initProcessing()
        if self.iface is None:
            return  # started by a script without QGIS's main window: only the provider applies
        from .gui.dock import Ls4Dock

        self.dock = Ls4Dock(self.iface, self.iface.mainWindow())
        self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        panel = QAction(QIcon(ICON), tr("LS4 panel"), self.iface.mainWindow())
        panel.setObjectName("mActionLs4Panel")
        panel.setCheckable(True)
        panel.setChecked(self.dock.isVisible())
        panel.toggled.connect(self.dock.setUserVisible)
        self.dock.visibilityChanged.connect(panel.setChecked)
        settings_action = QAction(tr("LS4 settings…"), self.iface.mainWindow())
        settings_action.setObjectName("mActionLs4Settings")
        settings_action.triggered.connect(self.dock.open_settings)
        for action in (panel, settings_action):
            self.iface.addPluginToMenu(self.MENU, action)
            self.actions.append(action)
        self.iface.addToolBarIcon(panel)

    def unload(self):
        for action in self.actions:
            self.iface.removePluginMenu(self.MENU, action)
            self.iface.removeToolBarIcon(action)
            action.deleteLater()
        self.actions = []
        if self.dock is not None:
            self.dock.shutdown()
            self.iface.removeDockWidget(self.dock)
            self.dock.setParent(None)
            self.dock.deleteLater()
            self.dock = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        forget_algorithm_modules()
        if self.translator is not None:
            QCoreApplication.removeTranslator(self.translator)
            self.translator = None
        storage.close_clients()
