"""The ``ls4`` Processing provider. Algorithms are found in ``algorithms/``, one per module."""

import importlib
import inspect
import os
import pkgutil

from qgis.core import QgsApplication, QgsProcessingModelAlgorithm, QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from . import algorithms
from .base import Ls4Algorithm

RESOURCES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "resources")
ICON = os.path.join(RESOURCES, "icon.svg")
MODELS = os.path.join(RESOURCES, "models")


def algorithm_classes():
    """Every ``Ls4Algorithm`` subclass defined in the modules of ``algorithms``, by name."""
    found = {}
    for info in pkgutil.iter_modules(algorithms.__path__):
        module = importlib.import_module(f"{algorithms.__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Ls4Algorithm) and cls.NAME and cls.__module__ == module.__name__:
                found[cls.NAME] = cls
    return [found[name] for name in sorted(found)]


def shipped_models():
    """The models in ``resources/models``, loaded as algorithms of this provider."""
    models = []
    if not os.path.isdir(MODELS):
        return models
    for filename in sorted(os.listdir(MODELS)):
        if filename.endswith(".model3"):
            model = QgsProcessingModelAlgorithm()
            if model.fromFile(os.path.join(MODELS, filename)):
                models.append(model)
    return models


class Ls4Provider(QgsProcessingProvider):
    def id(self):
        return "ls4"

    def name(self):
        return "LS4"

    def longName(self):
        return self.tr("LS4 — historical aerials to map services")

    def icon(self):
        return QIcon(ICON)

    def load(self):
        # The shipped models name LS4 algorithms as children, which resolve only once this
        # provider is in the registry: load them again when it gets there.
        QgsApplication.processingRegistry().providerAdded.connect(self._on_provider_added)
        return super().load()

    def _on_provider_added(self, provider_id):
        if provider_id == self.id():
            QgsApplication.processingRegistry().providerAdded.disconnect(self._on_provider_added)
            self.refreshAlgorithms()

    def loadAlgorithms(self):
        for cls in algorithm_classes():
            self.addAlgorithm(cls())
        for model in shipped_models():
            self.addAlgorithm(model)
