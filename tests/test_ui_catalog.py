"""A project's catalog of the site's interface (`<docs>/locale/<lang>/LC_MESSAGES/site_builder.po`)
is untrusted input: its translations reach the page as text, never as HTML or format strings."""

import html
import json
import re
from html.parser import HTMLParser

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from conftest import make_config

from site_builder import i18n
from site_builder.build import build_site

HOSTILE = {
    "View code": "<script>alert(1)</script>Voir le code",
    "Search": "<img src=x onerror=alert(2)>Chercher",
    "Toggle theme": 'Thème" onclick="alert(3)',
}
PERCENT = {
    "View code": "100% Voir le code",
    "Search": "Chercher %(x)s",
    "Toggle theme": "Thème %s",
}


@pytest.fixture
def french(tiny):
    return make_config(tiny.root, languages=("en", "fr"))


def write_ui_catalog(config, translations: dict[str, str]):
    catalog = Catalog(locale="fr", fuzzy=False)
    for english, french in translations.items():
        catalog.add(english, french)
    path = config.locale_dir / "fr" / "LC_MESSAGES" / "site_builder.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:
        write_po(file, catalog)
    return path


class Tags(HTMLParser):
    """The start tags of a page and their attributes' names, as a browser reads them."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, sorted(name for name, _ in attrs)))


def structure(page: str) -> list[tuple[str, list[str]]]:
    tags = Tags()
    tags.feed(page)
    return tags.tags


def ui_text(page: str) -> dict:
    """The UI strings the page's script reads (the JSON in `#ui-text`)."""
    found = re.search(r'<script type="application/json" id="ui-text">(.*?)</script>', page, re.S)
    assert found
    return json.loads(found[1])


@pytest.mark.parametrize("translations", [HOSTILE, PERCENT], ids=["html", "percent"])
def test_ui_translations_reach_the_page_as_text(french, translations):
    build_site(french, index_search=False)
    untranslated = (french.out / "fr/models/layer.html").read_text(encoding="utf-8")
    write_ui_catalog(french, translations)
    build_site(french, index_search=False)
    page = (french.out / "fr/models/layer.html").read_text(encoding="utf-8")
    assert structure(page) == structure(untranslated)  # no element or attribute was added
    shown = html.unescape(re.sub(r"<[^>]+>", "", page))  # what a reader sees
    assert translations["View code"] in shown
    button = re.search(r'<button [^>]*class="search-open"[^>]*>', page)
    assert button and re.search(r' title="([^"<>]*)"', button[0])[1] == html.escape(
        f"{translations['Search']} (/)", quote=False
    ).replace('"', "&#34;")
    # The script's strings are the translator's text, not HTML (it shows them as text).
    assert ui_text(page)["search"] == translations["Search"]
    toggle = re.search(r'<button [^>]*class="theme-toggle"[^>]*>', page)
    assert (
        toggle
        and html.unescape(re.search(r' title="([^"<>]*)"', toggle[0])[1])
        == (translations["Toggle theme"])
    )


def test_check_reports_html_and_placeholders_in_ui_translations(french):
    path = write_ui_catalog(french, {**HOSTILE, "Close": "Fermer %s", "Next section": "%(x)s"})
    problems = i18n.check(french, ["fr"], [])
    lines = path.read_text(encoding="utf-8").splitlines()

    def reported(msgstr_start: str) -> list[str]:
        line = next(n for n, text in enumerate(lines, 1) if text.startswith(msgstr_start))
        return [p.removeprefix(f"{path}:{line}: ") for p in problems if f":{line}: " in p]

    assert any("will show as text" in p or "unsafe" in p for p in reported('msgstr "<script>'))
    assert any("will show as text" in p or "unsafe" in p for p in reported('msgstr "<img'))
    assert reported('msgstr "Fermer %s"') == [
        "placeholders differ from the English: not in the English ['%s']"
    ]
    assert reported('msgstr "%(x)s"') == [
        "placeholders differ from the English: not in the English ['%(x)s']"
    ]
    assert not any("100%" in p for p in problems)
