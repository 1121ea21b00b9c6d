"""What every LS4 algorithm shares: names, translated help, and core errors as Processing errors."""

from qgis.core import (
    QgsMapLayer,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingParameterDefinition,
    QgsProcessingUtils,
)
from qgis.PyQt.QtCore import QCoreApplication

from ..ls4_plugin.core.errors import InputError, Ls4Error
from . import params


class Ls4Algorithm(QgsProcessingAlgorithm):
    """Base for LS4 algorithms: subclasses set the class constants and implement ``execute``.

    (Not ``run``: that is QgsProcessingAlgorithm's own entry point, which Processing calls.)

    Parameters are added with ``add(parameter, help)`` so every parameter carries help text,
    shown in the dialog's help panel, the modeler and ``qgis_process help``.
    """

    NAME = ""
    DISPLAY_NAME = ""
    GROUP = "Publishing"
    GROUP_ID = "publishing"
    HELP = ""
    # Raster inputs handed to the core as paths even when QGIS cannot load them as layers, so
    # that GDAL says what is wrong with a file ("truncated", "not a raster") rather than QGIS's
    # bare "Incorrect parameter value".
    FILE_INPUTS = ()
    # What of LS4 settings a run reads (``params.TARGET``, or some of "mapserver", "s3",
    # "database"): checked with the parameters, so that the dock, the modeler and the batch
    # dialog refuse a run the settings cannot serve before a task is queued.
    SETTINGS = ()
    # Whether a county off the county list is refused before a run (unless its collection is
    # published: one database query, see ``params.listed_county``). False: the algorithm judges
    # it itself, in its run (``ls4:collectioninfo``, which the dock runs as one types).
    REFUSES_OFF_LIST_COUNTY = True

    def __init__(self):
        super().__init__()
        self._param_help = []

    def name(self):
        return self.NAME

    def displayName(self):
        return self.tr(self.DISPLAY_NAME)

    def group(self):
        return self.tr(self.GROUP)

    def groupId(self):
        return self.GROUP_ID

    def createInstance(self):
        return type(self)()

    def tr(self, text):
        return QCoreApplication.translate(type(self).__name__, text)

    def add(self, parameter, help_text, advanced=False):
        parameter.setHelp(self.tr(help_text))
        if advanced:
            parameter.setFlags(
                parameter.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced
            )
        self._param_help.append((parameter.description(), parameter.help()))
        self.addParameter(parameter)

    def shortHelpString(self):
        items = "".join(f"<dt><b>{name}</b></dt><dd>{text}</dd>" for name, text in self._param_help)
        return f"<p>{self.tr(self.HELP)}</p><h3>{self.tr('Parameters')}</h3><dl>{items}</dl>"

    def checkParameterValues(self, parameters, context):
        for definition in self.parameterDefinitions():
            value = parameters.get(definition.name())
            if definition.name() in self.FILE_INPUTS and value not in (None, "", []):
                continue
            if not definition.checkValueIsAcceptable(value, context):
                message = self.tr("Incorrect parameter value for {}")
                return False, message.format(definition.description())
        problem = params.collection_problem(self, parameters, context)
        if problem:
            return False, problem
        needs = self.settings_needed(parameters, context)
        problem = params.settings_problem(self, parameters, context, needs)
        return (False, problem) if problem else (True, "")

    def settings_needed(self, parameters, context):
        """What of LS4 settings this run reads; ``SETTINGS`` unless a parameter decides."""
        return self.SETTINGS

    def raster_paths(self, parameters, name, context):
        """The files of a raster or multiple-raster parameter: a project layer's source, or the
        value as given (a path, a GDAL virtual path), without loading a new layer."""
        value = parameters.get(name)
        paths = []
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, QgsMapLayer):
                item = item.id()
            layer = QgsProcessingUtils.mapLayerFromString(
                str(item), context, allowLoadingNewLayers=False
            )
            if layer is None:
                paths.append(str(item))
            elif layer.providerType() != "gdal":
                kind = layer.providerType()
                raise InputError(f"{layer.name()}: a {kind} layer, not a raster file")
            else:
                paths.append(layer.source())
        return paths

    def processAlgorithm(self, parameters, context, feedback):
        try:
            return self.execute(parameters, context, feedback)
        except Ls4Error as error:
            raise QgsProcessingException(str(error)) from error

    def execute(self, parameters, context, feedback):
        raise NotImplementedError
