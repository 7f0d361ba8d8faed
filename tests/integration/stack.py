"""The real service in subprocesses: ``sfacal web`` and ``sfacal worker``, on one of two backends.

* ``sqlite`` -- the embedded default: a SQLite file database and the SQLite queue in the data
  directory, one worker process;
* ``scaleout`` -- the several-machines deployment: a PostgreSQL database and a Redis queue of
  their own (a new database and queue name per stack, dropped afterwards), and
  :data:`SCALEOUT_WORKERS` worker processes (:meth:`Stack.start_workers`).

Tests drive it from outside (the emulators' control APIs, HTTP) and read its database through
:meth:`Stack.query` (a short Python snippet run by a subprocess with Django set up).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("sqlite", "scaleout")
SCALEOUT_WORKERS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, backend: str = "sqlite") -> None:
        self.data_dir = data_dir
        self.backend = backend
        self.env = {
            **os.environ,
            "SFACAL_DATA_DIR": str(data_dir),
            "DJANGO_SETTINGS_MODULE": "sfacal.web.settings",
            "SFACAL_LOG_LEVEL": "WARNING",
            "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
            **(env or {}),
        }
        self.env.pop("DATABASE_URL", None)
        self.env.pop("SFACAL_QUEUE_URL", None)
        # each stack counts its own metrics (in its data directory), not the test session's
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.web_url = ""

    def sfacal(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "sfacal.cli", *args],
            env=self.env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"sfacal {' '.join(args)} failed: {done.stderr.decode()[-3000:]}")
        return done.stdout.decode()

    def query(self, code: str, timeout: float = 120) -> Any:
        """Run ``code`` (which assigns ``result``) with Django set up; returns ``result`` (JSON)."""
        script = (
            "import django, json\ndjango.setup()\nresult = None\n"
            + code
            + "\nprint('@@RESULT@@' + json.dumps(result, default=str, ensure_ascii=False))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script], env=self.env, capture_output=True, timeout=timeout, check=False
        )
        out = done.stdout.decode()
        if done.returncode or "@@RESULT@@" not in out:
            raise RuntimeError(f"query failed: {done.stderr.decode()[-3000:]}")
        return json.loads(out.split("@@RESULT@@", 1)[1])

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.data_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "sfacal.cli", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def start_web(self) -> str:
        port = free_port()
        self.start("web", "web", "--port", str(port))
        self.web_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(self.web_url + "/hooks/justsfa/", timeout=1, trust_env=False)
                return self.web_url
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the web server did not start: " + self.log("web"))

    def start_worker(self, name: str = "worker", workers: int = 2) -> subprocess.Popen[bytes]:
        return self.start(name, "worker", "--workers", str(workers))

    @property
    def worker_names(self) -> list[str]:
        """The worker processes of this backend: one on SQLite, three on the scale-out stack."""
        if self.backend == "scaleout":
            return [f"worker{i}" for i in range(SCALEOUT_WORKERS)]
        return ["worker"]

    def start_workers(self) -> list[str]:
        """Start every worker process of this backend that is not running; their names."""
        for name in self.worker_names:
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                self.start_worker(name)
        return self.worker_names

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
        proc.wait(30)

    def log(self, name: str) -> str:
        path = self.data_dir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM if name == "web" else signal.SIGKILL)


@contextmanager
def migrated_stack(
    data_dir: Path, env: dict[str, str] | None = None, backend: str = "sqlite"
) -> Iterator[Stack]:
    """A stack on a new data directory (and, for ``scaleout``, a new PostgreSQL database and Redis
    queue) with the schema in place; its processes stop and its database is dropped at the end."""
    with ExitStack() as resources:
        extra = dict(env or {})
        if backend == "scaleout":
            from tests.scaleout.services import pg_database, redis_queue

            tag = "stack"
            extra["DATABASE_URL"] = resources.enter_context(pg_database(tag))
            extra.update(resources.enter_context(redis_queue(tag)))
        elif backend != "sqlite":
            raise ValueError(f"unknown backend {backend!r}")
        stack = Stack(data_dir, extra, backend)
        for name in ("DATABASE_URL", "SFACAL_QUEUE_URL", "SFACAL_QUEUE_NAME"):
            if name in extra:
                stack.env[name] = extra[name]
        stack.data_dir.mkdir()
        stack.sfacal("migrate")
        try:
            yield stack
        finally:
            stack.stop()


def wait_for(predicate: Any, timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")
