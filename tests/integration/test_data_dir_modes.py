"""Data at rest (issue 14, item 8): the data directory is 0700 and every file the product creates in
it 0600, whatever the operator's umask; ``sfacal check`` reports a looser one with the command that
fixes it, and fails."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

from tests.integration.stack import Stack, free_port, wait_for


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sfacal.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        preexec_fn=lambda: os.umask(0o022),  # a usual login umask: files 0644, directories 0755
    )


def _modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        if path.is_file() or path.is_dir():
            found[str(path.relative_to(root))] = stat.S_IMODE(path.stat().st_mode)
    return found


def _open_to_others(modes: dict[str, int]) -> dict[str, str]:
    return {name: f"{mode:04o}" for name, mode in modes.items() if mode & 0o077}


def test_data_dir_and_files_are_private_and_check_reports_looser_ones(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"  # does not exist yet
    env = Stack(data, {"LANG": "C.UTF-8"}).env
    for name in ("SFACAL_SECRET_KEY", "LC_ALL", "LC_MESSAGES"):
        env.pop(name, None)
    # serve --demo writes everything: database, queue, key, emulators' TLS files, the demo's files
    with open(tmp_path / "serve.log", "wb") as log:
        serve = subprocess.Popen(
            [sys.executable, "-m", "sfacal.cli", "serve", "--demo", "--port", str(free_port())],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: os.umask(0o022),
        )
    try:
        wait_for(lambda: (data / "demo" / "demo.json").exists(), 120, what="the demo")
        wait_for(lambda: (data / "sfacal.sqlite3-wal").exists(), 30, what="the database's WAL file")
        modes = _modes(data)
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(30)
    for name in ("sfacal.sqlite3", "sfacal.sqlite3-wal", "sfacal.sqlite3-shm", "queue.sqlite3", "secret.key"):
        assert name in modes
    assert any(name.startswith("demo/") and name.endswith(".pem") for name in modes)
    assert _open_to_others(modes) == {}, _open_to_others(modes)
    assert modes["."] == 0o700

    ok = _run(["check"], env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "private to this user" in ok.stdout

    (data / "secret.key").chmod(0o644)
    data.chmod(0o755)
    loose = _run(["check"], env)
    assert loose.returncode == 1
    lines = [line for line in loose.stdout.splitlines() if line.startswith("✗ file permissions")]
    assert len(lines) == 2, loose.stdout
    assert f"run `chmod 700 {data}`" in lines[0] and "0755" in lines[0]
    assert f"run `chmod 600 {data / 'secret.key'}`" in lines[1] and "0644" in lines[1]
