"""The demo and the tests keep LS4's settings in a profile of their own, and the demo says what
sample data is missing instead of a traceback (issue 13 finding 14)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path.home() / ".config" / "Unknown Organization.conf"


def shared_settings():
    return SHARED.read_bytes() if SHARED.exists() else None


def test_the_tests_keep_ls4_settings_in_a_folder_of_their_own(qgis_app):
    from qgis.core import QgsSettings

    from ls4.ls4_plugin import settings

    before = shared_settings()
    settings.set_value("sns/topic_arn", "arn:aws:sns:us-east-1:000000000000:probe")
    QgsSettings().sync()
    assert "ls4-test-settings-" in QgsSettings().fileName()
    assert shared_settings() == before


def run_python(code, **env):
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow  # starts QGIS in another process
def test_the_demo_keeps_ls4_settings_in_its_own_profile():
    before = shared_settings()
    done = run_python(
        "from tools import demo\n"
        "app, provider = demo.start_qgis()\n"
        "from qgis.core import QgsSettings\n"
        "from ls4.ls4_plugin import settings\n"
        "settings.set_value('sns/topic_arn', 'arn:aws:sns:us-east-1:000000000000:demo')\n"
        "QgsSettings().sync()\n"
        "print(QgsSettings().fileName())\n"
        "app.exitQgis()\n"
    )
    assert done.returncode == 0, done.stderr
    written = Path(done.stdout.strip().splitlines()[-1])
    assert written.is_relative_to(REPO / ".stack" / "qgis-profile")
    assert "demo" in written.read_text()
    assert shared_settings() == before


def test_the_demo_without_sample_data_says_what_is_missing_and_starts_nothing(tmp_path):
    done = run_python(
        "import sys; from tools import demo; sys.exit(demo.main([]))",
        LS4_SAMPLE_DATA=str(tmp_path / "nowhere"),
    )
    assert done.returncode == 2
    assert "missing hro_colorado_gray.tif" in done.stderr
    assert "Nothing was started" in done.stderr and "Traceback" not in done.stderr
