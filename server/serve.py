"""`onset serve`: gunicorn running the Flask app, with the engine inside the workers.

Every worker runs an engine thread; only the lease holder ticks. The master process
never touches the database after `bootstrap.prepare`, so forks start clean.

Metrics: before the workers fork, the master points prometheus_client's multiprocess mode
at a fresh directory under the data dir, and marks each exiting worker dead (`server.metrics`).
With ONSET_METRICS_ADDR, gunicorn listens there too; the app serves only /metrics on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from server import metrics
from server.app import create_app
from server.config import Settings
from server.engine.runner import EngineRunner


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """The gunicorn configuration; the ingest benchmark's ceiling app uses the same one."""
    return {
        "bind": [settings.bind, *([settings.metrics_addr] if settings.metrics_addr else [])],
        "workers": settings.workers,
        "worker_class": "sync",
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "preload_app": False,
    }


class GunicornServer(BaseApplication):
    def __init__(self, settings: Settings, factory: Callable[[Settings], Flask] = create_app,
                 run_engine: bool | None = None):
        self.settings = settings
        self.factory = factory
        self.run_engine = settings.engine_enabled if run_engine is None else run_engine
        metrics.prepare_multiprocess(settings.data_dir)
        super().__init__()

    def load_config(self) -> None:
        for key, value in gunicorn_options(self.settings).items():
            self.cfg.set(key, value)
        self.cfg.set("child_exit", lambda server, worker: metrics.worker_exited(worker.pid))
        if self.run_engine:
            self.cfg.set("post_worker_init", self._start_engine)
            self.cfg.set("worker_exit", self._stop_engine)

    def load(self) -> Flask:
        return self.factory(self.settings)

    def _start_engine(self, worker: Any) -> None:
        worker.onset_engine = EngineRunner(self.settings)
        worker.onset_engine.start()

    @staticmethod
    def _stop_engine(server: Any, worker: Any) -> None:
        runner = getattr(worker, "onset_engine", None)
        if runner is not None:
            runner.stop()
