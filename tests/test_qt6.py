"""QGIS 4 (Qt 6) readiness: QGIS's own migration tool finds nothing to change in what LS4 deploys.

``pyqt5to6`` (PyPI ``qgis-pyqt5to6``, the ``scripts/pyqt5_to_pyqt6`` of the QGIS repository)
rewrites unscoped Qt enums (``Qt.UserRole`` -> ``Qt.ItemDataRole.UserRole``), ``exec_()``,
``PyQt5`` imports and other Qt 5-only forms in place. Run on a copy of the deployed Python files it
must leave every byte as it was and warn about nothing. It introspects PyQt6, so it runs in its own
folder of wheels (built once into ``build/``) under ``python3 -S``: QGIS's PyQt5 ``qgis`` package
stays out of that process, and the tool checks Qt's enums only (as without a Qt 6 QGIS build,
which no Debian suite has; QGIS's own enums are kept in the forms 3.22 and 3.40+ both accept).
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from tools.build_zip import REPO, deployable_files

# The tool and what it imports, pinned (setup.sh fetches these wheels for the chroots as well)
TOOL = tuple(
    line.strip()
    for line in (REPO / "requirements-qt6tool.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)


@pytest.fixture(scope="session")
def pyqt5to6():
    """A function running the migration tool on a folder; returns the finished process."""
    key = hashlib.sha256("\n".join(TOOL).encode()).hexdigest()[:12]
    # PyQt6-sip is compiled for one Python: each leg of the matrix (3.11, 3.13) has its own copy
    python = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    folder = REPO / "build" / f"pyqt5to6-{python}-{key}"
    if not (folder / "pyqt5to6" / "pyqt5to6.py").is_file():
        # a staging folder of this process only: the 3.40 and 3.44 legs run at once on one clone
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = tempfile.mkdtemp(dir=folder.parent, prefix=folder.name + ".part-")
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        command += ["--no-deps", "--only-binary=:all:", "--ignore-requires-python"]
        subprocess.run([*command, "--target", staging, *TOOL], check=True, timeout=600)
        try:
            os.rename(staging, folder)
        except OSError:  # another leg's copy got there first: the same pinned files
            shutil.rmtree(staging, ignore_errors=True)

    def run(directory):
        env = {"PYTHONPATH": str(folder), "QT_QPA_PLATFORM": "offscreen", "LANG": "C.UTF-8"}
        env["PATH"] = os.environ.get("PATH", "")
        command = ["/usr/bin/python3", "-S", "-m", "pyqt5to6.pyqt5to6", str(directory)]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)

    return run


def _deployed_python(target):
    copied = {}
    for name, path in deployable_files(REPO).items():
        if name.endswith(".py"):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / name)
            copied[name] = path.read_bytes()
    return copied


def test_the_tool_rewrites_qt5_forms(pyqt5to6, tmp_path):
    """The check below is not vacuous: the tool, as installed, does rewrite Qt 5-only code."""
    source = tmp_path / "old.py"
    source.write_text(
        "from qgis.PyQt.QtCore import Qt\n"
        "from qgis.PyQt.QtWidgets import QDialogButtonBox\n"
        "role = Qt.UserRole\n"
        "ok = QDialogButtonBox.Ok\n"
        "dialog.exec_()\n"
    )
    done = pyqt5to6(tmp_path)
    rewritten = source.read_text()
    assert "Qt.ItemDataRole.UserRole" in rewritten, done.stderr
    assert "QDialogButtonBox.StandardButton.Ok" in rewritten
    assert "dialog.exec()" in rewritten


def test_pyqt5_to_pyqt6_leaves_the_deployed_files_unchanged(pyqt5to6, tmp_path):
    copied = _deployed_python(tmp_path)
    assert "ls4_plugin/plugin.py" in copied and "processing_provider/provider.py" in copied
    done = pyqt5to6(tmp_path)
    changed = [name for name, text in copied.items() if (tmp_path / name).read_bytes() != text]
    assert changed == [], f"pyqt5to6 rewrote {changed}:\n{done.stdout}\n{done.stderr}"
    warnings = [line for line in done.stderr.splitlines() if "WARNING" in line]
    assert warnings == []
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_deployed_code_names_qt_through_qgis_pyqt_only():
    """``qgis.PyQt`` maps to PyQt5 or PyQt6; a direct ``PyQt5`` import breaks QGIS 4."""
    for name, path in deployable_files(REPO).items():
        if name.endswith(".py"):
            text = path.read_text(encoding="utf-8")
            assert "import PyQt5" not in text and "from PyQt5" not in text, name
            assert "exec_(" not in text, name
