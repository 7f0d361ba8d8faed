"""The `sfacal` command: help, check, createadmin, migrate, serve."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

SFACAL = [sys.executable, "-m", "sfacal.cli"]


def run(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "SFACAL_DATA_DIR": str(data_dir), **env}
    full_env.pop("DATABASE_URL", None)
    full_env.pop("SFACAL_QUEUE_URL", None)
    return subprocess.run(SFACAL + args, env=full_env, capture_output=True, text=True, timeout=120)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_help_lists_the_commands(tmp_path):
    out = run(["--help"], tmp_path)
    assert out.returncode == 0
    for command in ("serve", "web", "worker", "migrate", "createadmin", "check"):
        assert f"  {command} " in out.stdout


def test_unknown_command_exits_2(tmp_path):
    out = run(["frobnicate"], tmp_path)
    assert out.returncode == 2 and "unknown command" in out.stderr


def test_check_reports_unapplied_migrations_then_passes(tmp_path):
    before = run(["check"], tmp_path)
    assert before.returncode != 0
    assert "sfacal migrate" in before.stdout
    assert run(["migrate"], tmp_path).returncode == 0
    after = run(["check"], tmp_path)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "schema up to date" in after.stdout


def test_createadmin_super_and_company_admin(tmp_path):
    assert run(["migrate"], tmp_path).returncode == 0
    weak = run(["createadmin", "root", "--password", "123"], tmp_path)
    assert weak.returncode != 0 and "Password rejected" in weak.stderr
    ok = run(["createadmin", "root", "--password", "correct-horse-battery"], tmp_path)
    assert ok.returncode == 0, ok.stderr
    ok = run(
        ["createadmin", "akagi-admin", "--company", "akagi"],
        tmp_path,
        SFACAL_ADMIN_PASSWORD="another-long-password",
    )
    assert ok.returncode == 0, ok.stderr
    assert "akagi" in ok.stdout


def test_two_instances_side_by_side_use_their_own_data_dirs(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(["migrate"], a).returncode == 0
    assert run(["migrate"], b).returncode == 0
    for d in (a, b):
        assert (d / "sfacal.sqlite3").exists() and (d / "secret.key").exists()
    assert (a / "secret.key").read_text() != (b / "secret.key").read_text()


def test_serve_answers_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {**os.environ, "SFACAL_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    env.pop("SFACAL_QUEUE_URL", None)
    proc = subprocess.Popen(
        [*SFACAL, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        body = b""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                    body = resp.read()
                    break
            except OSError:
                time.sleep(0.3)
        assert body == b'{"status": "ok"}'
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("serve did not stop on SIGTERM")
