"""The plugin loads in QGIS, registers its provider and algorithms, and unload removes all of it."""

from qgis.core import QgsApplication


def test_plugin_registers_provider_and_unload_removes_everything(qgis_iface, qgis_processing):
    import ls4

    registry = QgsApplication.processingRegistry()
    if registry.providerById("ls4") is not None:  # a session fixture may have added one
        registry.removeProvider(registry.providerById("ls4"))

    plugin = ls4.classFactory(qgis_iface)
    plugin.initGui()
    provider = registry.providerById("ls4")
    assert provider is not None
    names = {alg.id() for alg in provider.algorithms()}
    assert "ls4:inspectraster" in names
    for alg in provider.algorithms():
        # The help always has its "Parameters" heading: the description paragraph must not be
        # empty, and every parameter must carry its own help.
        assert "<p></p>" not in alg.shortHelpString(), f"{alg.id()}: no description"
        missing = [p.name() for p in alg.parameterDefinitions() if not p.help().strip()]
        assert missing == [], f"{alg.id()}: parameters without help"

    plugin.unload()
    assert registry.providerById("ls4") is None
    assert plugin.actions == [] and plugin.dock is None


def test_shipped_model_in_the_registry_knows_its_children(ls4_provider):
    model = QgsApplication.processingRegistry().algorithmById("ls4:scan_to_cog")
    assert model is not None
    assert "makecog:OUTPUT" in [p.name() for p in model.parameterDefinitions()]
    assert [o.name() for o in model.outputDefinitions()] == ["makecog:OUTPUT"]
