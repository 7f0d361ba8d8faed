"""The README's real-install lines, run on a fresh clone: install, create the administrator, serve,
sign in over HTTP and land on the companies list.

The lines are read *from the README* (the ``sh`` block after the ``<!-- real-install`` marker), so the
README cannot drift from what is tested. The clone is of this repository's committed ``HEAD``.

Installing packages from the network is neither possible offline nor fast (building this project
needs ``setuptools>=69`` and ``wheel``, which only the network has), so these documented
substitutions apply and nothing else:

- ``python3`` in ``python3 -m venv`` is the base interpreter of the Python running the tests (the one
  the installed packages were built for); right after the venv is made, a ``.pth`` line lets it see a
  view of this Python's site-packages *without* any installed ``sfacal``, so no other installation is
  seen or touched;
- ``pip install -c constraints.txt -e .`` is carried out as an editable install is: a ``.pth`` file
  that puts the clone's ``src`` on the path and the console scripts of ``[project.scripts]`` in
  ``.venv/bin`` (every dependency is already in that view);
- ``sfacal serve`` gets ``--port`` with a free port, and ``createadmin`` reads its password from
  ``SFACAL_ADMIN_PASSWORD`` (as the README says it may).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import tomllib
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- real-install"
PASSWORD = "first-admin-password-42"


def readme_install_lines(readme: str) -> list[str]:
    """The commands of the real-install block: one per line, comments and blanks dropped."""
    assert MARKER in readme, "the README lost its real-install block"
    after = readme.split(MARKER, 1)[1]
    block = re.search(r"```sh\n(.*?)```", after, re.S)
    assert block is not None
    lines = []
    for raw in block.group(1).splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def test_readme_real_install_block_is_a_real_install() -> None:
    lines = readme_install_lines((ROOT / "README.md").read_text(encoding="utf-8"))
    text = "\n".join(lines)
    assert "--demo" not in text
    assert "sfacal createadmin" in text
    assert lines[-1].split()[-1] == "serve" or " serve " in lines[-1]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for doc in ("docs/demo.md", "docs/admin-guide.ja.md", "docs/admin-guide.en.md"):
        assert f"]({doc})" in readme, doc
    # The real path comes right after the demo command, before the test command.
    assert readme.index("serve --demo") < readme.index(MARKER) < readme.index("scripts/test\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def packages_without_sfacal(target: Path) -> Path:
    """A directory of links to this Python's installed packages, leaving out every ``sfacal``."""
    site = Path(sysconfig.get_paths()["purelib"])
    target.mkdir()
    for entry in site.iterdir():
        if entry.name.lower().startswith(("sfacal", "__editable__.sfacal", "__editable___sfacal")):
            continue
        if entry.suffix == ".pth":
            continue
        (target / entry.name).symlink_to(entry)
    return target


def base_python() -> str:
    return str(getattr(sys, "_base_executable", None) or sys.executable)


class Install:
    """Runs the README's commands in the clone, with the substitutions of the module docstring."""

    def __init__(self, clone: Path, data_dir: Path, packages: Path) -> None:
        self.clone = clone
        self.packages = packages
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key
            not in ("PYTHONPATH", "DATABASE_URL", "SFACAL_QUEUE_URL", "VIRTUAL_ENV", "SFACAL_SECRET_KEY")
        }
        self.env.update(
            SFACAL_DATA_DIR=str(data_dir),
            SFACAL_ADMIN_PASSWORD=PASSWORD,
            LANG="C.UTF-8",
        )
        self.server: subprocess.Popen[bytes] | None = None
        self.port = free_port()
        self.admin = ""

    def run(self, command: str) -> None:
        argv = shlex.split(command)
        if argv[:3] == ["python3", "-m", "venv"]:
            self._call([base_python(), *argv[1:]])
            venv = self.clone / argv[3]
            site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
            (site / "zz_test_packages.pth").write_text(f"{self.packages}\n", encoding="utf-8")
            return
        if argv[0].endswith("/pip") and argv[1:2] == ["install"]:
            assert argv[2:] == ["-c", "constraints.txt", "-e", "."], argv
            self.editable_install(self.clone / Path(argv[0]).parents[1])
            return
        if argv[0].endswith("/sfacal") and argv[1:2] == ["createadmin"]:
            self.admin = argv[2]
        if argv[0].endswith("/sfacal") and argv[1:2] == ["serve"]:
            log = (self.clone / "serve.log").open("wb")
            self.server = subprocess.Popen(
                [*argv, "--port", str(self.port)],
                cwd=self.clone,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            return
        self._call(argv)

    def editable_install(self, venv: Path) -> None:
        """What ``pip install -e .`` leaves in the venv: the source on the path, the console scripts."""
        site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
        (site / "__editable__.sfacal.pth").write_text(f"{self.clone / 'src'}\n", encoding="utf-8")
        project = tomllib.loads((self.clone / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        for name, target in project["scripts"].items():
            module, function = target.split(":")
            script = venv / "bin" / name
            script.write_text(
                f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom {module} import {function}\n"
                f"sys.exit({function}())\n",
                encoding="utf-8",
            )
            script.chmod(0o755)

    def _call(self, argv: list[str]) -> None:
        done = subprocess.run(argv, cwd=self.clone, env=self.env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (argv, done.stdout[-2000:], done.stderr[-2000:])
        assert "Traceback" not in done.stderr, done.stderr

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()


def wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    pytest.fail("the server did not answer: " + log.read_text(errors="replace")[-3000:])


def test_readme_real_install_on_a_fresh_clone_signs_in(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    lines = readme_install_lines((clone / "README.md").read_text(encoding="utf-8"))
    install = Install(clone, tmp_path / "data", packages_without_sfacal(tmp_path / "packages"))
    try:
        for line in lines:
            for command in line.split("&&"):
                install.run(command.strip())
        # The clone's own code is what runs, and nothing else's.
        where = subprocess.run(
            [str(clone / ".venv" / "bin" / "python"), "-c", "import sfacal; print(sfacal.__file__)"],
            env=install.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert where.startswith(str(clone)), where
        assert install.server is not None and install.admin
        url = f"http://127.0.0.1:{install.port}"
        wait_until_up(url, install.server, clone / "serve.log")

        with httpx.Client(base_url=url, follow_redirects=True, timeout=30) as browser:
            page = browser.get("/")
            assert page.status_code == 200 and page.url.path == "/accounts/signin/"
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            assert token is not None
            landed = browser.post(
                "/accounts/signin/",
                data={"csrfmiddlewaretoken": token.group(1), "username": install.admin, "password": PASSWORD},
            )
            assert landed.status_code == 200, landed.text[-2000:]
            assert landed.url.path == "/companies/"
            assert install.admin in landed.text
    finally:
        install.stop()
