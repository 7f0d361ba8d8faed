"""Chromium on the served product: every action a step, every step checked and photographed.

Guarantees of :meth:`Screen.step` (a context manager around one user action):

* no response of the server answered 5xx, and none answered 4xx unless the step expects that
  status (``allow``): a 403 from a button is a broken button too;
* no console error and no uncaught page error (a resource refused with an expected status aside);
* the page says nothing of an unexpected error: no ``unexpected_error`` code, no
  「予期しないエラー」, no "unexpected error";
* the server's log gained no traceback and no ERROR line while the step ran;
* on English pages no Japanese character is shown outside the user data of the walk (which is
  ASCII for the English walk) and the fragments the product shows in Japanese by design
  (:data:`JAPANESE_BY_DESIGN`, each with its reason);
* a full-page screenshot is kept under ``artifacts/served/`` (``NNN-role-step.lang.png``), also
  when the step failed (``…-FAILED.png``).

Every (method, path) the browser (or the suite's own HTTP client) made the server answer is
recorded in :class:`Visits`, which the URL-pattern coverage test reads.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.served.harness import ServedStack

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "served"

# Hiragana, katakana, CJK ideographs, CJK punctuation and full-width forms.
JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]+")

# Japanese that English pages show on purpose, and why.
JAPANESE_BY_DESIGN: tuple[str, ...] = (
    # The language menu names each language in itself.
    "日本語",
    # The JUST.SFA, masters and personal settings screens quote JUST.SFA's own (Japanese-only)
    # names next to the English ones, so that an administrator finds them in JUST.SFA.
    "(見出し)",
    "(場所)",
    "(内容)",
    "(予定/実績)",
    "(商談/業務)",
    "(商談目的)",
    "(業務名)",
    "(実績)",
    # The CSV import names the columns of the file as they must be written in it.
    "社員ログインID (login_id)",
    "氏名 (name)",
    "メールアドレス (email)",
    "連携 (state: 連携する/連携しない/使用禁止)",
    "ユーザーID設定 (user_id_mode: 個別に指定/社員ログインID@ドメイン名)",
    "連携ユーザーID (user_id)",
    "連携先カレンダー (calendar)",
    "(except 連携 and ユーザーID設定)",
)

# Japanese system words on English pages that issue 13 defect 8 is about: left out of the
# general check so that the walk still sees everything else, and asserted by their own test.
DEFECT_8_WORDS: tuple[str, ...] = ("未選択", "マスタ設定値以外")

# Counts the htmx exchanges a page finished (answer swapped in and settled, or failed), so that a
# step waits for the answer to its own click and never reads the one before it.
HTMX_COUNTER = """
(() => {
  const done = () => { window.__sfacalHtmx = (window.__sfacalHtmx || 0) + 1; };
  for (const name of ["htmx:afterSettle", "htmx:responseError", "htmx:sendError", "htmx:swapError"]) {
    document.addEventListener(name, done);
  }
})();
"""

UNEXPECTED = re.compile(r"unexpected_error|予期しないエラー|unexpected error", re.I)


class Visits:
    """The (method, path) pairs the server answered during the walk."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def add(self, method: str, url: str) -> None:
        self.seen.add((method.upper(), unquote(urlsplit(url).path)))

    def paths(self) -> set[str]:
        return {path for _method, path in self.seen}


@dataclass
class Response:
    method: str
    url: str
    status: int


@dataclass
class Screen:
    """One signed-in (or signed-out) browser context of one role, in one language."""

    walk: Walk
    role: str
    lang: str
    context: Any
    page: Any
    user_data: list[str] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.walk.stack.web_url

    def url(self, path: str) -> str:
        return self.base + path

    def _on_response(self, response: Any) -> None:
        url = str(response.url)
        if not url.startswith(self.base):
            return
        method = str(response.request.method)
        self.responses.append(Response(method, url, int(response.status)))
        self.walk.visits.add(method, url)

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.console.append(str(message.text))

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(str(dialog.message))
        dialog.accept()

    @contextlib.contextmanager
    def step(self, name: str, *, allow: Iterable[int] = (), japanese_ok: Iterable[str] = ()) -> Iterator[Any]:
        """Run one action on :attr:`page` and check what it caused (see the module docstring)."""
        allowed = set(allow)
        marks = (len(self.responses), len(self.console))
        log_mark = self.walk.stack.server_log_size()
        shot = self.walk.next_shot(self.role, name, self.lang)
        try:
            yield self.page
            self._check(name, allowed, marks, log_mark, tuple(japanese_ok))
        except BaseException:
            with contextlib.suppress(Exception):
                self.page.screenshot(
                    path=str(shot.with_suffix(".FAILED.png")), full_page=True, caret="initial"
                )
            raise
        self.page.screenshot(path=str(shot), full_page=True, caret="initial")

    def _check(
        self,
        name: str,
        allowed: set[int],
        marks: tuple[int, int],
        log_mark: int,
        japanese_ok: tuple[str, ...],
    ) -> None:
        responses = self.responses[marks[0] :]
        bad = [r for r in responses if r.status >= 500 or (r.status >= 400 and r.status not in allowed)]
        assert not bad, f"{self.role}/{name}: the server answered {bad}"
        refused = re.compile(r"status of (\d{3})")
        console = [
            c
            for c in self.console[marks[1] :]
            if not ((m := refused.search(c)) and int(m.group(1)) in allowed)
        ]
        assert not console, f"{self.role}/{name}: console errors {console}"
        text = self.page.inner_text("body")
        html = self.page.content()
        found = UNEXPECTED.search(text) or UNEXPECTED.search(html)
        assert found is None, f"{self.role}/{name}: the page reports an unexpected error:\n{text[:3000]}"
        problems = self.walk.stack.server_problems(log_mark)
        assert not problems, f"{self.role}/{name}: the server logged a problem:\n{problems[-6000:]}"
        if self.lang == "en":
            leftover = japanese_outside(text, [*self.user_data, *japanese_ok])
            assert not leftover, f"{self.role}/{name}: Japanese on an English page: {leftover}\n{text[:3000]}"

    # -- small helpers used by many steps ----------------------------------------------------------

    def goto(self, path: str, *, allow: Iterable[int] = ()) -> Any:
        response = self.page.goto(self.url(path))
        status = response.status if response is not None else 0
        assert status < 400 or status in set(allow), f"{self.role}: GET {path} answered {status}"
        return response

    def htmx(self, target: Any, *, timeout: float = 30_000) -> None:
        """Click ``target`` (a selector or a locator) that sends an htmx request, and return once
        the answer is swapped into the page."""
        before = self.page.evaluate("() => window.__sfacalHtmx || 0")
        (self.page.locator(target) if isinstance(target, str) else target).click()
        self.page.wait_for_function("n => (window.__sfacalHtmx || 0) > n", arg=before, timeout=timeout)

    def sign_in(self, username: str, password: str) -> None:
        self.goto("/accounts/signin/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        with self.page.expect_navigation():
            self.page.click("main button[type=submit].primary")

    def sign_out(self) -> None:
        with self.page.expect_navigation():
            self.page.click("header form[action$='/accounts/signout/'] button")
        assert urlsplit(self.page.url).path == "/accounts/signin/"

    def clipboard(self) -> str:
        return str(self.page.evaluate("() => navigator.clipboard.readText()"))


def japanese_outside(text: str, allowed: Iterable[str]) -> list[str]:
    """The Japanese runs of ``text`` once every allowed fragment is taken out, with context."""
    rest = text
    for fragment in sorted({*JAPANESE_BY_DESIGN, *DEFECT_8_WORDS, *allowed}, key=len, reverse=True):
        if fragment:
            rest = rest.replace(fragment, " ")
    return [rest[max(0, m.start() - 30) : m.end() + 30].replace("\n", " ") for m in JAPANESE.finditer(rest)]


class Trail:
    """What every walk of a run shares: the visited paths and the numbered screenshots (the
    screenshots of an earlier run are removed first)."""

    def __init__(self) -> None:
        self.visits = Visits()
        self._counter = itertools.count(1)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for old in ARTIFACTS.glob("*.png"):
            old.unlink()

    def next_shot(self, role: str, name: str, lang: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{role}-{name}")
        return ARTIFACTS / f"{next(self._counter):03d}-{safe}.{lang}.png"


@dataclass
class Walk:
    """One browser on the served stack; makes a :class:`Screen` per role and language."""

    browser: Any
    stack: ServedStack
    trail: Trail
    screens: list[Screen] = field(default_factory=list)

    @property
    def visits(self) -> Visits:
        return self.trail.visits

    def next_shot(self, role: str, name: str, lang: str) -> Path:
        return self.trail.next_shot(role, name, lang)

    def screen(
        self,
        role: str,
        lang: str = "ja",
        *,
        phone: bool = False,
        locale: str | None = None,
        user_data: Iterable[str] = (),
    ) -> Screen:
        """A new browser context (own cookies) for ``role``; its pages are checked as ``lang``
        pages. The browser's language is ``locale`` (by default that of ``lang``)."""
        viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
        context = self.browser.new_context(
            viewport=viewport,
            locale=locale or ("ja-JP" if lang == "ja" else "en-US"),
            accept_downloads=True,
        )
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=self.stack.web_url)
        context.add_init_script(HTMX_COUNTER)
        page = context.new_page()
        page.set_default_timeout(20_000)
        screen = Screen(self, role, lang, context, page, list(user_data))
        page.on("response", screen._on_response)
        page.on("console", screen._on_console)
        page.on("pageerror", lambda exc: screen.console.append(f"uncaught: {exc}"))
        page.on("dialog", screen._on_dialog)
        self.screens.append(screen)
        return screen

    def close(self) -> None:
        for screen in self.screens:
            with contextlib.suppress(Exception):
                screen.context.close()
        self.screens.clear()
