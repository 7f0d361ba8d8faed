"""The `sfacal` command: help, check, createadmin, migrate, serve."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from sfacal import cli
from sfacal.web.ops.language import cli_language

SFACAL = [sys.executable, "-m", "sfacal.cli"]


def run(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "SFACAL_DATA_DIR": str(data_dir), "LANG": "C.UTF-8", **env}
    for name in ("DATABASE_URL", "SFACAL_QUEUE_URL", "LC_ALL", "LC_MESSAGES", "SFACAL_ADMIN_PASSWORD"):
        if name not in env:
            full_env.pop(name, None)
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


# -- help: the operator's names and options only (issue 13, defect 9) ---------------------------

INTERNAL_NAMES = ("check_setup", "import_csv", "sync_now", "rotate_key")
DJANGO_OPTIONS = ("--settings", "--pythonpath", "--traceback", "--no-color", "--force-color", "--skip-checks")
OPERATOR_COMMANDS = [name for name in cli.COMMANDS if name not in ("manage", "help")]


@pytest.fixture(autouse=True)
def _language_restored() -> Iterator[None]:
    """``sfacal.cli.main`` activates the locale's language; later tests expect the default one."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


def in_process(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``sfacal ARGS`` in this process (Django is set up already): exit status, stdout, stderr."""
    try:
        status = cli.main(args)
    except SystemExit as exc:
        status = int(exc.code or 0)
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.mark.parametrize("name", OPERATOR_COMMANDS)
def test_command_help_names_the_command_and_only_operator_options(name, capsys):
    status, out, _err = in_process([name, "--help"], capsys)
    assert status == 0
    assert out.startswith(f"usage: sfacal {name} ")
    for internal in INTERNAL_NAMES:
        assert internal not in out
    for option in DJANGO_OPTIONS:
        assert option not in out
    assert "--version" not in out
    if name != "migrate":  # only migrate prints more with -v
        assert "--verbosity" not in out


@pytest.mark.parametrize("name", OPERATOR_COMMANDS)
def test_help_command_prints_the_commands_help(name, capsys):
    direct = in_process([name, "--help"], capsys)
    via_help = in_process(["help", name], capsys)
    assert via_help == direct


def test_help_without_a_command_and_help_of_an_unknown_one(capsys):
    status, out, _ = in_process(["help"], capsys)
    assert status == 0 and out.startswith("usage: sfacal <command>")
    status, _, err = in_process(["help", "frobnicate"], capsys)
    assert status == 2 and "unknown command" in err


@pytest.mark.parametrize("name", ["serve", "web"])
def test_server_help_shows_the_default_host_and_port(name, capsys):
    _status, out, _ = in_process([name, "--help"], capsys)
    flat = " ".join(out.split())
    assert "(default: 127.0.0.1)" in flat and "(default: 8000)" in flat


def test_hidden_django_options_are_still_accepted(tmp_path):
    out = run(["migrate", "--no-color", "--skip-checks"], tmp_path)
    assert out.returncode == 0, out.stderr


# -- every command on a fresh data directory: migrate first, or one line naming `sfacal migrate` ----

# What each command does on a fresh data directory; every command of the CLI must be listed here.
FRESH = {
    "web": ["web", "--port", "1"],
    "worker": ["worker"],
    "import": ["import", "employees", "-"],
    "sync": ["sync", "--company", "acme"],
    "rotate-key": ["rotate-key"],
    "unlock": ["unlock", "someone"],
}
FRESH_MIGRATES = {"serve", "createadmin", "migrate"}  # serve: test_serve_answers_and_stops_on_sigterm
FRESH_NEEDS_NO_SCHEMA = {"emulate", "manage", "help"}


def test_every_command_is_classified_for_a_fresh_data_dir():
    assert set(cli.COMMANDS) == set(FRESH) | FRESH_MIGRATES | FRESH_NEEDS_NO_SCHEMA | {"check"}


@pytest.mark.parametrize("name", sorted(FRESH))
def test_command_on_a_fresh_data_dir_says_in_one_line_to_migrate(name, tmp_path):
    out = run(FRESH[name], tmp_path)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr + out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"sfacal {name}: ") and "run `sfacal migrate` first" in lines[0]


def test_check_on_a_fresh_data_dir_skips_what_needs_the_schema(tmp_path):
    out = run(["check", "--connections"], tmp_path)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and "no such table" not in out.stdout
    assert "stored secrets: not checked until the schema is up to date" in out.stdout
    assert "connections: not checked until the schema is up to date" in out.stdout


def test_createadmin_on_a_fresh_data_dir_creates_the_schema_then_signs_in(tmp_path):
    out = run(["createadmin", "root"], tmp_path, SFACAL_ADMIN_PASSWORD="correct-horse-battery")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Super-administrator root created."
    check = run(["check"], tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr


def test_createadmin_reads_the_password_from_stdin(tmp_path):
    full_env = {**os.environ, "SFACAL_DATA_DIR": str(tmp_path), "LANG": "C.UTF-8"}
    full_env.pop("SFACAL_ADMIN_PASSWORD", None)
    done = subprocess.run(
        [*SFACAL, "createadmin", "root", "--password-stdin"],
        env=full_env,
        input="correct-horse-battery\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "correct-horse-battery" not in done.stdout + done.stderr


def test_createadmin_without_a_terminal_or_password_says_how_to_give_one(tmp_path):
    full_env = {**os.environ, "SFACAL_DATA_DIR": str(tmp_path), "LANG": "C.UTF-8"}
    full_env.pop("SFACAL_ADMIN_PASSWORD", None)
    done = subprocess.run(
        [*SFACAL, "createadmin", "root"],
        env=full_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("sfacal createadmin: No password given: set SFACAL_ADMIN_PASSWORD")
    assert done.stderr.count("\n") == 1


def test_a_bad_configuration_is_one_line(tmp_path):
    out = run(["check"], tmp_path, DATABASE_URL="mysql://nowhere/x")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().count("\n") == 0 and "DATABASE_URL" in out.stderr


def test_an_unexpected_failure_is_one_line_unless_a_traceback_is_asked_for(monkeypatch, capsys):
    from sfacal.web.ops.management.commands import web

    def broken() -> None:
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(web, "require_schema", broken)
    status, _out, err = in_process(["web"], capsys)
    assert status == 1
    assert err == (
        "sfacal web: failed unexpectedly: RuntimeError: the disk caught fire "
        "(run it again with --traceback to see where)\n"
    )
    with pytest.raises(RuntimeError):
        cli.main(["web", "--traceback"])


def test_help_piped_into_a_closed_reader_prints_no_traceback(tmp_path):
    env = {**os.environ, "SFACAL_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        f"{sys.executable} -m sfacal.cli --help | head -1",
        shell=True,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.startswith("usage: sfacal")
    assert "Traceback" not in done.stderr


# -- one language per run: the locale's (English unless it is Japanese) ---------------------------

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def test_cli_language_follows_the_locale_variables():
    assert cli_language({}) == "en"
    assert cli_language({"LANG": "C.UTF-8"}) == "en"
    assert cli_language({"LANG": "ja_JP.UTF-8"}) == "ja"
    assert cli_language({"LANG": "ja_JP.UTF-8", "LC_ALL": "en_US.UTF-8"}) == "en"
    assert cli_language({"LANG": "en_US.UTF-8", "LC_MESSAGES": "ja_JP.eucJP"}) == "ja"
    assert cli_language({"LC_ALL": "", "LANG": "ja"}) == "ja"


def test_createadmin_speaks_english_in_an_english_locale(tmp_path):
    weak = run(["createadmin", "root", "--password", "123"], tmp_path, LANG="en_US.UTF-8")
    assert weak.returncode == 1 and not JAPANESE.search(weak.stderr + weak.stdout)
    assert "Password rejected: This password is too short" in weak.stderr
    ok = run(["createadmin", "boss", "--company", "akagi", "--password", "correct-horse-battery"], tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "Company administrator boss of company akagi created."


def test_createadmin_speaks_japanese_in_a_japanese_locale(tmp_path):
    weak = run(["createadmin", "root", "--password", "123"], tmp_path, LANG="ja_JP.UTF-8")
    assert weak.returncode == 1
    message = weak.stderr.split(": ", 1)[1]
    assert message.startswith("このパスワードは使用できません: このパスワードは短すぎます")
    assert not re.search(r"[A-Za-z]{3,}", message), message
    ok = run(
        ["createadmin", "boss", "--company", "akagi", "--password", "correct-horse-battery"],
        tmp_path,
        LANG="ja_JP.UTF-8",
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "会社 akagi の会社管理者 boss を作成しました。"


def test_worker_leaves_the_thread_count_to_sfacal_workers_unless_given(monkeypatch, capsys):
    from sfacal.web.ops.management.commands import worker

    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(worker, "require_schema", lambda: None)
    monkeypatch.setattr(worker, "call_command", lambda *args: calls.append(args))
    assert in_process(["worker"], capsys)[0] == 0
    assert in_process(["worker", "--workers", "2"], capsys)[0] == 0
    assert "--workers" not in calls[0]  # run_huey then takes SFACAL_WORKERS from the settings
    assert calls[1][calls[1].index("--workers") + 1] == "2"


def test_import_report_follows_the_locale_from_the_command_line(tmp_path):
    made = run(["createadmin", "boss", "--company", "akagi", "--password", "correct-horse-battery"], tmp_path)
    assert made.returncode == 0, made.stderr
    csv = tmp_path / "employees.csv"
    csv.write_text("login_id,state\nx,maybe\n", encoding="utf-8")
    english = run(["import", "employees", str(csv)], tmp_path)
    assert english.returncode == 1
    assert english.stderr == "sfacal import: Rows with errors: 1\n"
    assert english.stdout.startswith("1 rows, 0 ok")
    japanese = run(["import", "employees", str(csv)], tmp_path, LANG="ja_JP.UTF-8")
    assert japanese.returncode == 1
    assert japanese.stderr == "sfacal import: エラーのある行: 1\n"
    assert japanese.stdout.startswith("1 行中 0 行 OK")
