"""How far each language's translation has come: per page and language, the catalog entries and
the English words that are translated, fuzzy (outdated) or missing.

Counted from the catalogs as they are (`<locale>/<lang>/LC_MESSAGES/**/*.po`, a page's catalog
named after its page, see `paths.catalog_path`), whatever their entries are: an entry's words are
those of its English (msgid). After changing the English, `site-builder i18n update` brings the
catalogs, and so these counts, up to date.

`i18n status` prints these counts, the build makes the translations page from them, and
`with_drafts` names the languages under the project's `draft_below`: drafts, built for preview
but not offered to readers (switcher, hreflang, sitemap).
"""

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from .config import SiteConfig
from .model import BuildError, Input
from .paths import catalog_path, page_stem
from .site_texts import FIGURES_PAGE, SITE_STEM
from .translate import UI_DOMAIN, parse_catalog, read_catalog

UI_PAGE = "site interface"  # the row of the project's own UI catalog (`UI_DOMAIN`)
# A word of the English: letters or digits, with inner apostrophes, dots or hyphens
# (`don't`, `3.42`, `depth-wise`); Markdown and punctuation around it do not count.
_WORD = re.compile(r"\w+(?:['’.\-]\w+)*")


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


@dataclass
class Progress:
    """One page (a catalog's stem, or `UI_PAGE`) in one language."""

    page: str
    lang: str
    translated: int = 0  # entries
    fuzzy: int = 0
    missing: int = 0
    words_translated: int = 0  # English words of the entries
    words_fuzzy: int = 0
    words_missing: int = 0

    @property
    def entries(self) -> int:
        return self.translated + self.fuzzy + self.missing

    @property
    def words(self) -> int:
        return self.words_translated + self.words_fuzzy + self.words_missing

    @property
    def percent(self) -> float:
        """Share of the English words translated (what a reader sees in the language)."""
        return 100.0 * self.words_translated / self.words if self.words else 0.0

    @property
    def entry_percent(self) -> float:
        return 100.0 * self.translated / self.entries if self.entries else 0.0

    def add(self, other: "Progress") -> None:
        for name in (f.name for f in dataclasses.fields(self)):
            if isinstance(value := getattr(self, name), int):
                setattr(self, name, value + getattr(other, name))


def catalog_progress(
    path: Path, page: str, lang: str, warnings: list[BuildError], data: bytes | None = None
) -> Progress:
    """The counts of one catalog, read from `data` when given (its obsolete entries and its
    header left out)."""
    row = Progress(page, lang)
    catalog = read_catalog(path, warnings) if data is None else parse_catalog(path, data, warnings)
    for entry in catalog:
        if entry.obsolete or not entry.msgid:
            continue
        words = word_count(entry.msgid)
        if entry.msgstr and not entry.fuzzy:
            row.translated, row.words_translated = row.translated + 1, row.words_translated + words
        elif entry.msgstr:
            row.fuzzy, row.words_fuzzy = row.fuzzy + 1, row.words_fuzzy + words
        else:
            row.missing, row.words_missing = row.missing + 1, row.words_missing + words
    return row


def language_progress(
    config: SiteConfig, lang: str, warnings: list[BuildError], extras_only: bool = False
) -> list[Progress]:
    """One row per catalog of `lang`, pages by their stem, then the site's title and figures
    (`site_texts`) and its interface."""
    if config.locale_dir is None:
        return []
    folder = config.locale_dir / lang / "LC_MESSAGES"
    rows, ui = [], []
    for path in sorted(folder.rglob("*.po")) if folder.is_dir() else []:
        stem = path.relative_to(folder).with_suffix("").as_posix()
        if stem == UI_DOMAIN:
            ui.append(catalog_progress(path, UI_PAGE, lang, warnings))
        elif stem == SITE_STEM:
            ui.insert(0, catalog_progress(path, FIGURES_PAGE, lang, warnings))
        elif not extras_only:
            rows.append(catalog_progress(path, stem, lang, warnings))
    return rows + ui


def build_progress(
    config: SiteConfig, inputs: list[Input], warnings: list[BuildError]
) -> list[Progress]:
    """What a build counts: each page's catalog from the bytes its input holds (read once per
    build, see `sources.read_inputs`), then the catalogs of the title and figures and of the
    interface, language by language."""
    by_lang: dict[str, list[Progress]] = {lang: [] for lang in config.languages[1:]}
    for item in inputs:
        if item.lang in by_lang and item.catalog:
            stem = page_stem(item.source.rel_path)
            path = catalog_path(config.locale_dir or Path(), item.lang, item.source.rel_path)
            by_lang[item.lang].append(
                catalog_progress(path, stem, item.lang, warnings, item.catalog)
            )
    for lang, rows in by_lang.items():
        rows.sort(key=lambda row: row.page)
        rows += [row for row in language_progress(config, lang, warnings, extras_only=True)]
    return [row for rows in by_lang.values() for row in rows]


def site_progress(
    config: SiteConfig, warnings: list[BuildError], langs: list[str] | None = None
) -> list[Progress]:
    """Every row of `langs` (default: every language but the source), language by language."""
    langs = list(config.languages[1:]) if langs is None else langs
    return [row for lang in langs for row in language_progress(config, lang, warnings)]


def totals(rows: list[Progress], langs: list[str] | tuple[str, ...] = ()) -> dict[str, Progress]:
    """Each language's rows added up: `langs` first (0 words where a language has no catalog),
    then the others in the order they first appear."""
    by_lang = {lang: Progress("total", lang) for lang in langs}
    for row in rows:
        by_lang.setdefault(row.lang, Progress("total", row.lang)).add(row)
    return by_lang


def drafts(config: SiteConfig, rows: list[Progress]) -> tuple[str, ...]:
    """The languages with less than `draft_below` percent of their words translated (a language
    with no catalog at all counts as 0%)."""
    by_lang = totals(rows, config.languages[1:])
    return tuple(
        lang for lang in config.languages[1:] if by_lang[lang].percent < config.draft_below
    )


def with_drafts(config: SiteConfig, rows: list[Progress]) -> SiteConfig:
    return dataclasses.replace(config, drafts=drafts(config, rows))


def format_status(rows: list[Progress], langs: list[str], config: SiteConfig | None = None) -> str:
    """The table `i18n status` prints: entries and words per page, then each language's total
    (marked `draft` where it is one)."""
    draft = set(drafts(config, rows)) if config else set()
    width = max([len(row.page) for row in rows] + [len("page")])
    header = (
        f"{'page':<{width}}  lang  translated  fuzzy  missing  entries %     words  translated %"
    )
    lines = [header, "-" * len(header)]
    for row in [*rows, *totals(rows, langs).values()]:
        note = "  (draft)" if row.page == "total" and row.lang in draft else ""
        lines.append(
            f"{row.page:<{width}}  {row.lang:<4}  {row.translated:>10}  {row.fuzzy:>5}  "
            f"{row.missing:>7}  {row.entry_percent:>8.1f}%  {row.words:>8}  "
            f"{row.percent:>11.1f}%{note}"
        )
    return "\n".join(lines)
