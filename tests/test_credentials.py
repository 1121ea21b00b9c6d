"""The S3 keys an algorithm reads in its worker thread are the ones its checks read on the main
thread: QGIS 3.22's QgsAuthManager deadlocks when pooled threads read its database while one
of them ends (the main thread, the task's thread and an ending pool thread, seen in test_dock)."""

import threading

from qgis.core import QgsApplication, QgsAuthMethodConfig

from ls4.ls4_plugin import settings
from tools import qgis_env


def in_a_thread(function):
    found = []
    worker = threading.Thread(target=lambda: found.append(function()))
    worker.start()
    worker.join(30)
    return found[0]


def change_password(authcfg, password):
    manager = QgsApplication.authManager()
    config = QgsAuthMethodConfig()
    manager.loadAuthenticationConfig(authcfg, config, True)
    config.setConfig("password", password)
    assert manager.updateAuthenticationConfig(config)


def test_a_worker_thread_gets_what_the_main_thread_read_last(qgis_app):
    qgis_env.unlock_auth()
    authcfg = qgis_env.basic_authcfg("LS4 thread test", "key", "first")
    assert settings.basic_credentials(authcfg) == ("key", "first")  # the run's checks
    change_password(authcfg, "second")  # changed behind LS4's back
    # the worker does not read QgsAuthManager: it gets what the main thread read
    assert in_a_thread(lambda: settings.basic_credentials(authcfg)) == ("key", "first")
    # the main thread always reads afresh, and the next run's worker gets that
    assert settings.basic_credentials(authcfg) == ("key", "second")
    assert in_a_thread(lambda: settings.basic_credentials(authcfg)) == ("key", "second")


def test_a_worker_reads_what_the_main_thread_never_did_and_stored_keys_are_read_afresh(qgis_app):
    qgis_env.unlock_auth()
    authcfg = qgis_env.basic_authcfg("LS4 thread test 2", "key", "only")
    assert in_a_thread(lambda: settings.basic_credentials(authcfg)) == ("key", "only")
    assert settings.basic_credentials(authcfg) == ("key", "only")
    settings.store_s3_credentials("key", "new", authcfg)
    assert settings.basic_credentials(authcfg) == ("key", "new")
