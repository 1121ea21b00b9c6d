"""Shared fixtures: the sample data, the LS4 provider in Processing, and the real service stack."""

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import tools  # noqa: F401  (makes the repository importable as the package ``ls4``)

# Hypothesis's timing checks fail on a fresh clone (its first draw builds caches under
# .hypothesis/ for over a second) and on a loaded machine; tests here judge results, not time.
settings.register_profile("ls4", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ls4")

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LS4_SAMPLE_DATA", REPO.parent / "shared" / "data"))


def pytest_configure(config):
    """The tests' QGIS settings in a folder of this session's own (before pytest-qgis makes the
    QgsApplication), never in ~/.config/Unknown Organization.conf that every standalone
    script and every other test run share."""
    import tempfile

    from tools import qgis_env

    qgis_env.own_settings(tempfile.mkdtemp(prefix="ls4-test-settings-"), "ls4-tests")


@pytest.fixture(scope="session")
def data_dir():
    if not (DATA / "hro_colorado_gray.tif").exists():
        pytest.fail(f"sample data not found in {DATA} (set LS4_SAMPLE_DATA)")
    return DATA


@pytest.fixture
def sample(data_dir, tmp_path):
    """A function copying a sample file into tmp_path (the originals are read-only)."""

    def copy(name):
        target = tmp_path / name
        shutil.copy(data_dir / name, target)
        target.chmod(0o644)
        return target

    return copy


# Tiers. A test using one of these fixtures, directly or through another fixture, gets the mark:
# ``stack``: it starts or needs services (the stack, or a service process of a module's own);
# ``slow``: it builds the plugin ZIP and runs QGIS in another process, or installs and runs the Qt 6
# migration tool (tens of seconds). A test that starts QGIS or a checker over the whole tree in
# another process without such a fixture carries ``@pytest.mark.slow`` itself (test_profiles,
# test_zip's vermin check).
# The fast tier, ``make unit``, is ``-m "not stack and not slow"``.
TIER_FIXTURES = {
    "stack": {"stack", "sns_emulator"},
    "slow": {"plugin_zip", "pyqt5to6"},
}


def pytest_collection_modifyitems(items):
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for mark, fixtures in TIER_FIXTURES.items():
            if fixtures & used:
                item.add_marker(getattr(pytest.mark, mark))


_KEEP_ALIVE = []


def ensure_provider():
    """Register the LS4 provider unless it is (pytest-qgis does not; the plugin test unloads it)."""
    from qgis.core import QgsApplication

    from ls4.processing_provider.provider import Ls4Provider

    registry = QgsApplication.processingRegistry()
    provider = registry.providerById("ls4")
    if provider is None:
        provider = Ls4Provider()
        registry.addProvider(provider)
        _KEEP_ALIVE.append(provider)  # as a plugin does: the registry does not keep the wrapper
    return provider


@pytest.fixture
def ls4_provider(qgis_processing):
    """The LS4 provider, registered in the Processing registry for every test that asks."""
    return ensure_provider()


@pytest.fixture
def run_alg(ls4_provider):
    """Run an ``ls4:`` algorithm through Processing; returns its results dict."""
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsProject

    def run(name, params, feedback=None, context=None):
        feedback = feedback or QgsProcessingFeedback()
        if context is None:
            context = QgsProcessingContext()
            context.setProject(QgsProject.instance())
        return processing.run(f"ls4:{name}", params, feedback=feedback, context=context)

    return run


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The real local stack (PostGIS, SeaweedFS S3, MapServer over HTTP), started for the session.

    With ``LS4_STACK_DIR`` pointing at a running stack (``make stack-up``), that one is reused.
    """
    from tools.stack import Stack

    reuse = os.environ.get("LS4_STACK_DIR")
    if reuse and (Path(reuse) / "endpoints.json").exists():
        yield json.loads((Path(reuse) / "endpoints.json").read_text())
        return
    instance = Stack(tmp_path_factory.mktemp("stack"))
    try:
        yield instance.up()
    finally:
        instance.down(purge=True)
