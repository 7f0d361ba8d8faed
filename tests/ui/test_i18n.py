"""Every screen string is translated, and the compiled catalogs match their sources."""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[2] / "src" / "sfacal" / "web" / "locale"


def read_po(path: Path) -> dict[str, list[str]]:
    """msgid (or msgid + NUL + msgid_plural) -> its msgstr forms, for a catalog without wrapped lines."""
    entries: dict[str, list[str]] = {}
    msgid = plural = None
    forms: list[str] = []

    def flush() -> None:
        if msgid:
            entries[msgid + ("\x00" + plural if plural else "")] = list(forms)

    def literal(text: str) -> str:
        return ast.literal_eval(text)

    last: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgid "):
            flush()
            msgid, plural, forms, last = literal(line[6:]), None, [], "msgid"
        elif line.startswith("msgid_plural "):
            plural, last = literal(line[13:]), "plural"
        elif line.startswith("msgstr["):
            forms.append(literal(line.split(" ", 1)[1]))
            last = "msgstr"
        elif line.startswith("msgstr "):
            forms.append(literal(line[7:]))
            last = "msgstr"
        elif line.startswith('"') and last == "msgstr":
            forms[-1] += literal(line)
        elif line.startswith('"') and last == "msgid" and msgid is not None:
            msgid += literal(line)
    flush()
    return entries


def test_every_japanese_msgid_is_translated():
    entries = read_po(LOCALE / "ja" / "LC_MESSAGES" / "django.po")
    assert len(entries) > 300
    missing = [k for k, forms in entries.items() if not forms or not all(forms)]
    assert missing == []


def test_fuzzy_entries_are_not_left_behind():
    for lang in ("ja", "en"):
        assert "#, fuzzy" not in (LOCALE / lang / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_compiled_catalog_matches_po(lang):
    entries = read_po(LOCALE / lang / "LC_MESSAGES" / "django.po")
    with (LOCALE / lang / "LC_MESSAGES" / "django.mo").open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    for key, forms in entries.items():
        if not any(forms):
            continue
        if "\x00" in key:
            msgid = key.split("\x00")[0]
            for i, form in enumerate(forms):
                assert catalog.get((msgid, i)) == form, key
        else:
            assert catalog.get(key) == forms[0], key
    translated = {k for k, f in entries.items() if any(f)}
    compiled = {k for k in catalog if k != "" and isinstance(k, str)}
    assert compiled <= {k.split("\x00")[0] for k in translated}


def test_placeholders_survive_translation():
    entries = read_po(LOCALE / "ja" / "LC_MESSAGES" / "django.po")
    pattern = re.compile(r"%\(\w+\)[sd]")
    for key, forms in entries.items():
        wanted = sorted(pattern.findall(key.split("\x00")[0]))
        for form in forms:
            assert sorted(pattern.findall(form)) == wanted, key


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext tools not installed")
def test_catalog_has_every_string_of_the_code(tmp_path):
    """Extracting the strings again finds nothing that the committed catalog lacks."""
    src = LOCALE.parents[1]
    files = [
        p for p in (src / "web").rglob("*") if p.suffix in (".py", ".html") and "migrations" not in p.parts
    ]
    files += [src / "engine" / "models.py"]
    py = [str(p) for p in files if p.suffix == ".py"]
    html = [p for p in files if p.suffix == ".html"]
    # Templates are turned into gettext calls the way Django's makemessages does.
    from django.utils.translation import template as tmpl

    converted = []
    for i, path in enumerate(html):
        out = tmp_path / f"t{i}.py"
        out.write_text(tmpl.templatize(path.read_text(encoding="utf-8"), origin=str(path)), encoding="utf-8")
        converted.append(str(out))
    pot = tmp_path / "all.pot"
    base = [
        "xgettext",
        "--from-code=UTF-8",
        "-o",
        str(pot),
        "--no-wrap",
        "--keyword=gettext_noop",
        "--keyword=gettext_lazy",
        "--keyword=ngettext_lazy:1,2",
        "--keyword=pgettext:1c,2",
        "--keyword=npgettext:1c,2,3",
        "--keyword=pgettext_lazy:1c,2",
        "-L",
        "Python",
    ]
    subprocess.run([*base, *py, *converted], check=True, capture_output=True)
    wanted = {k.split("\x00")[0] for k in read_po(pot)}
    have = {k.split("\x00")[0] for k in read_po(LOCALE / "ja" / "LC_MESSAGES" / "django.po")}
    assert sorted(wanted - have) == []
