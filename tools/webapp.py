"""gunicorn's entry to LS4's web app in the local stack (``tools.webapp:make_app(...)``).

Importing ``tools`` makes this repository the package ``ls4``, as on a server where the
plugin's folder is on the Python path.
"""

import tools  # noqa: F401


def make_app(tiles_folder, wms_upstream):
    from ls4.ls4_plugin.core import webapp

    return webapp.make_app(tiles_folder, wms_upstream)
