"""Texts of the site as a whole, translated like the pages: the site's title and the words of its
SVG figures (the `<text>` and `<tspan>` elements of every `.svg` in the package and docs trees).

They have one catalog per language, `<locale>/<lang>/LC_MESSAGES/_site.po` (its English in
`templates/_site.pot`), which `site-builder i18n update` and `i18n new` keep up to date
(`update`). A build uses its translations (`translations`): each language's pages get the
translated title, and the figures published under `/<lang>/` are translated copies
(`translate_figures`). A text without a word of two letters (`[B, h]`, `l+1`, `0.5`) is not
extracted.
"""

import html
import re
from pathlib import Path

import polib

from .config import SiteConfig
from .files import Blob
from .model import BuildError
from .paths import language_prefix
from .translate import read_catalog

SITE_STEM = "_site"  # the catalog's name: `_site.po`
FIGURES_PAGE = "site title and figures"  # its row in `progress`
# A text node at the start of a <text> or <tspan> (`image ` in `<text>image <tspan>[B]</tspan>`)
_SVG_TEXT = re.compile(r"(<(?:text|tspan)\b[^>]*>)([^<]+)")
_WORD = re.compile(r"[^\W\d_]{2,}")


def catalog_of(config: SiteConfig, lang: str) -> Path | None:
    return (
        config.locale_dir / lang / "LC_MESSAGES" / f"{SITE_STEM}.po" if config.locale_dir else None
    )


def svg_texts(svg: str) -> list[tuple[str, int]]:
    """The translatable texts of an SVG document, with their lines."""
    found = []
    for match in _SVG_TEXT.finditer(svg):
        text = html.unescape(match[2]).strip()
        if _WORD.search(text):
            found.append((text, svg.count("\n", 0, match.start()) + 1))
    return found


def figures(config: SiteConfig) -> list[Path]:
    """Every SVG file of the package and docs trees (the catalogs' folder left out)."""
    found: list[Path] = []
    for tree in (config.source, config.docs):
        if tree is None:
            continue
        for path in sorted(tree.rglob("*.svg")):
            inside_locale = config.locale_dir and path.is_relative_to(config.locale_dir)
            if path.is_file() and not inside_locale:
                found.append(path)
    return found


def translations(config: SiteConfig, lang: str, warnings: list[BuildError]) -> dict[str, str]:
    """English -> translation, of the entries translated and not fuzzy."""
    path = catalog_of(config, lang)
    if path is None or not path.is_file():
        return {}
    return {
        entry.msgid: entry.msgstr
        for entry in read_catalog(path, warnings)
        if entry.msgstr and not entry.fuzzy and not entry.obsolete
    }


def translate_svg(data: bytes, texts: dict[str, str]) -> bytes:
    """The SVG with each text that `texts` translates replaced (escaped for XML)."""
    svg = data.decode("utf-8")

    def replace(match: re.Match) -> str:
        english = html.unescape(match[2]).strip()
        if english not in texts:
            return match[0]
        before, after = re.match(r"\s*", match[2]), re.search(r"\s*$", match[2])
        space_before, space_after = before[0] if before else "", after[0] if after else ""
        return match[1] + space_before + html.escape(texts[english], quote=False) + space_after

    return _SVG_TEXT.sub(replace, svg).encode("utf-8")


def translate_figures(
    config: SiteConfig, outputs: dict[str, Blob], warnings: list[BuildError]
) -> dict[str, Blob]:
    """`outputs` (site path -> file) with each SVG under a language's folder translated."""
    translated = dict(outputs)
    for lang in config.languages[1:]:
        texts = translations(config, lang, warnings)
        prefix = language_prefix(config, lang)
        if not texts:
            continue
        for rel, blob in outputs.items():
            if rel.startswith(prefix) and rel.endswith(".svg"):
                try:
                    new = translate_svg(blob.content(), texts)
                except UnicodeDecodeError:
                    continue  # not a text SVG: published as it is
                if new != blob.content():
                    translated[rel] = Blob.of_bytes(new)
    return translated


def _title_line(config: SiteConfig) -> tuple[str, str]:
    """Where the title is set: its line in pyproject.toml."""
    try:
        text = (config.root / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ("pyproject.toml", "0")
    match = re.search(r"^title\s*=", text, re.MULTILINE)
    return ("pyproject.toml", str(text.count("\n", 0, match.start()) + 1 if match else 0))


def update(config: SiteConfig, langs: list[str], warnings: list[BuildError]) -> list[Path]:
    """Extract the title and the figures' texts into `templates/_site.pot` and merge them into
    each language's `_site.po`; returns the files written."""
    from . import i18n  # the catalogs' library: only `i18n` commands load it

    root, project = i18n.locale_dir(config), i18n.project_info(config)
    template = i18n.build_template([], "the site's title and figures", project)
    entries: dict[str, list[tuple[str, str]]] = {config.title: [_title_line(config)]}
    for path in figures(config):
        try:
            svg = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            warnings.append(BuildError(path, None, f"cannot read the figure: {error}"))
            continue
        for text, line in svg_texts(svg):
            entries.setdefault(text, []).append((i18n.project_path(config, path), str(line)))
    for text, occurrences in entries.items():
        template.append(polib.POEntry(msgid=text, occurrences=occurrences))
    template[0].comment = "The site's title ([tool.site_builder] title)"
    outputs = [(root / "templates" / f"{SITE_STEM}.pot", template)]
    for lang in langs:
        path = root / lang / "LC_MESSAGES" / f"{SITE_STEM}.po"
        catalog = (
            read_catalog(path, warnings)
            if path.is_file()
            else i18n.new_catalog(lang, "the site's title and figures", project)
        )
        outputs.append((path, i18n.merge(catalog, template)))
    return [path for path, catalog in outputs if i18n.write_if_changed(path, catalog)]
