"""The site as a whole: what pages know of each other, and the files made from all of them.

`SiteIndex` holds every page's title and summary (for crumbs and the home page's listing) and the
keys that decide when a rendered page is still valid: a page depends on its own input, on the
builder and config, on the titles of its folders and of the lesson's pages (previous/next links),
and (the home page) on every page's listing.
`site_files` gathers every file of the site: pages, notebooks, static files, KaTeX's stylesheet
and fonts, docs assets in each language, the images pages use, and the 404 page, sitemap and
stylesheet made from the site as a whole.
"""

import dataclasses
import functools
import posixpath
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from rjsmin import jsmin

from .config import PYGMENTS_STYLES, SiteConfig
from .files import Blob, digest
from .links import is_external, resolve
from .model import BuildError, Input, Meta, Module, RenderedModule
from .page import (
    STATIC_DIR,
    TRANSLATIONS_PAGE,
    Crumb,
    LanguageRow,
    ListingGroup,
    ListingItem,
    PageCell,
    PageContext,
    PageRenderer,
    PageRow,
    TranslationsTable,
    language_name,
    sitemap_xml,
    stylesheet,
)
from .paths import (
    base_path,
    language_prefix,
    notebook_path,
    page_url,
    public_url,
    relative_href,
    source_link_to_page,
    url_path,
)
from .progress import UI_PAGE, Progress, totals
from .site_texts import FIGURES_PAGE, SITE_STEM
from .tex import katex_dist_dir


def project_ui_catalogs(config: SiteConfig) -> str:
    """Digest of the project's own UI catalogs (`<locale>/<lang>/LC_MESSAGES/site_builder.po`,
    `translate.UI_DOMAIN`); the ones site_builder ships are part of `builder_digest`."""
    if not config.locale_dir:
        return ""
    paths = [
        config.locale_dir / lang / "LC_MESSAGES" / name
        for lang in config.languages
        for name in ("site_builder.po", f"{SITE_STEM}.po")  # the title: site_texts
    ]
    return digest(*[path.read_bytes() if path.is_file() else None for path in paths])


class SiteIndex:
    """What pages know of each other: titles for crumbs and the home listing, and the keys that
    decide when a cached page is still valid."""

    def __init__(
        self,
        config: SiteConfig,
        inputs: list[Input],
        metas: dict[str, Meta],
        builder: str,
        progress: list[Progress] | None = None,
    ):
        self.config = config
        self.progress = progress or []  # for the translations page
        self.inputs = inputs
        self.meta = {(i.lang, i.source.url): metas[i.key] for i in inputs}
        self.urls = {i.source.url for i in inputs}
        self.sources = {i.source.url: i.source for i in inputs}
        self.with_code = {i.source.url for i in inputs if metas[i.key].has_code}
        # Pages not at their source's own path (a root README.md is index.html), in each
        # language: a link to the source's page (`README.md`, `README.html`) goes where it is.
        self.moved = {
            prefix + page_url(source.rel_path): prefix + url
            for url, source in self.sources.items()
            if page_url(source.rel_path) not in self.urls  # (its own, or another page's)
            for prefix in map(functools.partial(language_prefix, config), config.languages)
        }
        folder_titles = sorted(
            (key, meta.title) for key, meta in self.meta.items() if key[1].endswith("index.html")
        )
        missing = [page for page in config.lesson if page not in self.urls]
        if missing:
            message = f"'lesson' names {missing[0]!r}, which is no page of the site"
            raise BuildError(config.root / "pyproject.toml", None, message)
        lesson_titles = sorted((k, m.title) for k, m in self.meta.items() if k[1] in config.lesson)
        ui = project_ui_catalogs(config)
        shared = (builder, config.digest_fields(), "contributing.html" in self.urls, ui)
        self.digest = digest(
            *shared,
            folder_titles,
            lesson_titles,
            sorted(self.with_code),
            sorted(self.moved.items()),
        )
        listing = sorted((k, m.title, m.summary) for k, m in self.meta.items())
        self.home_digest = digest(self.digest, listing)
        counts = [dataclasses.astuple(row) for row in self.progress]
        self.extras_key = digest(self.home_digest, sorted(self.urls), PYGMENTS_STYLES, counts)

    def render_key(self, item: Input) -> str:
        depends_on = self.home_digest if item.source.url == "index.html" else self.digest
        return digest(item.key, depends_on)

    def crumbs(self, lang: str, url: str) -> list[Crumb]:
        prefix = language_prefix(self.config, lang)
        here = prefix + url
        crumbs = [Crumb(None, relative_href(here, prefix + "index.html"))]
        parts = url.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            index = "/".join(parts[:depth]) + "/index.html"
            meta = self.meta.get((lang, index))
            href = relative_href(here, prefix + index) if meta else None
            crumbs.append(Crumb(meta.title if meta else parts[depth - 1], href))
        if url == "index.html":
            return [Crumb(None)]
        if crumbs[-1].href and url.endswith("/index.html"):
            crumbs[-1].href = None
        else:
            crumbs.append(Crumb(self.meta[(lang, url)].title))
        return crumbs

    def lesson_links(self, lang: str, url: str) -> tuple[Crumb | None, Crumb | None]:
        """The pages before and after `url` in the configured lesson order (None at either end,
        and for a page outside the lesson)."""
        lesson = self.config.lesson
        if url not in lesson:
            return None, None
        prefix, at = language_prefix(self.config, lang), lesson.index(url)

        def link(index: int) -> Crumb | None:
            if not 0 <= index < len(lesson):
                return None
            target = lesson[index]
            return Crumb(
                self.meta[(lang, target)].title, relative_href(prefix + url, prefix + target)
            )

        return link(at - 1), link(at + 1)

    def listing(self, lang: str, here: str) -> list[ListingGroup]:
        """Every page but the home page, grouped by folder (a folder's own page is its heading);
        the pages of folders with no page of their own are listed last, as more pages."""
        prefix = language_prefix(self.config, lang)
        groups: dict[str, ListingGroup] = {}
        for url in sorted(self.urls - {"index.html"}):
            folder, name = posixpath.split(url)
            index = posixpath.join(folder, "index.html")
            meta = self.meta.get((lang, index)) if folder else None
            group = folder if meta else ""
            if group not in groups:
                href = relative_href(here, prefix + index) if meta else None
                groups[group] = ListingGroup(
                    meta.title if meta else None, href, meta.summary if meta else ""
                )
            if name != "index.html":
                meta = self.meta[(lang, url)]
                href = relative_href(here, prefix + url)
                groups[group].items.append(ListingItem(meta.title, meta.summary, href))
        return [groups[folder] for folder in sorted(groups, key=lambda f: (f == "", f))]

    def view_code(self, url: str) -> str:
        source = self.source_path(url)
        return self.config.repo_url + url_path(source) if self.config.repo_url and source else ""

    def source_path(self, url: str) -> str:
        """The page's source file relative to the project root ("" when it lies outside)."""
        source = self.sources.get(url)
        try:
            return source.path.relative_to(self.config.root).as_posix() if source else ""
        except ValueError:
            return ""

    def has_notebook(self, target: str) -> bool:
        """Whether a site path is a page with a notebook: every page made from a source that
        shows code (not a page of text only, nor the 404 page, nor a home page made up because
        the package has none)."""
        lang, _, rest = target.partition("/")
        page = rest if lang in self.config.languages[1:] else target
        return page in self.with_code

    def notebook_link(self, page: str) -> Callable[[str], str | None]:
        """Where the notebook of `page` (a site path) sends each of the page's links: a page's
        link to its notebook, other files of the site to their public URL (so that images show
        in a notebook opened anywhere); external links, anchors and links the site cannot
        resolve stay as they are (None)."""
        root = base_path(self.config)

        def link(href: str) -> str | None:
            if not href or href.startswith("#") or is_external(href):
                return None
            target = resolve(page, source_link_to_page(href), root).path
            if target is None:
                return None
            target = self.moved.get(target, target)
            if self.has_notebook(target):
                new = relative_href(page, notebook_path(target))
            else:
                new = public_url(self.config, target)
            fragment = urlsplit(href).fragment
            return (new + f"#{fragment}" if fragment else new) if new else None

        return link


def site_files(
    config: SiteConfig,
    pages: dict[str, Blob],
    file_blob: Callable[[Path], Blob],
    assets: dict[str, Path],
    whole_site: dict[str, Blob],
) -> dict[str, Blob]:
    """Every file of the site but the images and the search index: `pages` (site path -> its
    files, from the page stage), static files, KaTeX, the docs `assets` in each language, and
    the files made from the `whole_site`. `file_blob(path)` makes a blob of a file on disk."""
    outputs = dict(pages)
    # static/*.css are not copied: they go into the one stylesheet made in whole_site_files.
    static = {f"static/{p.name}": p for p in STATIC_DIR.iterdir() if p.is_file()}
    static = {rel: path for rel, path in static.items() if path.suffix != ".css"}
    outputs |= {rel: _static_blob(path, file_blob) for rel, path in static.items()}
    outputs |= katex_files(file_blob)
    outputs |= {f"static/{path.name}": file_blob(path) for path in _look_files(config)}
    for lang in config.languages:
        prefix = language_prefix(config, lang)
        for rel, path in assets.items():
            outputs[prefix + rel] = file_blob(path)
    return outputs | whole_site


def _static_blob(path: Path, file_blob: Callable[[Path], Blob]) -> Blob:
    """One of the builder's static files as published: scripts minified, the rest as they are."""
    if path.suffix == ".js":
        return Blob.of_bytes(jsmin(path.read_text(encoding="utf-8")).encode())
    return file_blob(path)


def _look_files(config: SiteConfig) -> list[Path]:
    """The author's static files (an overrides folder's static/, which may replace the
    builder's, flat), the logo and the favicon: each published as static/<its name>."""
    own = config.overrides / "static" if config.overrides else None
    found = sorted(p for p in own.iterdir() if p.is_file()) if own and own.is_dir() else []
    return found + [path for path in (config.logo, config.favicon) if path]


# Browsers that can run the site all read woff2, so the other formats are left out of KaTeX's CSS.
_LEGACY_FONT_SOURCE = re.compile(r',url\(fonts/[^)]+\.(?:woff|ttf)\) format\("(?:woff|truetype)"\)')


def katex_files(file_blob: Callable[[Path], Blob]) -> dict[str, Blob]:
    """KaTeX's stylesheet with woff2 font sources only, and the font files it still names."""
    dist = katex_dist_dir()
    css = _LEGACY_FONT_SOURCE.sub("", (dist / "katex.min.css").read_text(encoding="utf-8"))
    outputs = {"static/katex/katex.min.css": Blob.of_bytes(css.encode())}
    for name in sorted(set(re.findall(r"url\(fonts/([^)]+)\)", css))):
        outputs[f"static/katex/fonts/{name}"] = file_blob(dist / "fonts" / name)
    return outputs


def whole_site_files(
    config: SiteConfig, site: SiteIndex, renderer: PageRenderer
) -> dict[str, bytes]:
    """Files made from the site as a whole: 404 page, sitemap, the stylesheet (site.css with the
    Pygments colours), and a home page listing everything when the package has no root
    `__init__.py`."""
    extras = {
        "404.html": renderer.not_found_page().encode(),
        "sitemap.xml": sitemap_xml(config, sorted(site.urls | {"index.html"})).encode(),
        "static/site.css": stylesheet(
            *PYGMENTS_STYLES, config.overrides / "extra.css" if config.overrides else None
        ).encode(),
    }
    if len(config.languages) > 1:
        for lang in config.languages:
            url = language_prefix(config, lang) + TRANSLATIONS_PAGE
            table = translations_table(site, lang, url)
            extras[url] = renderer.translations_page(url, lang, table).encode()
    if "index.html" not in site.urls:
        for lang in config.languages:
            url = language_prefix(config, lang) + "index.html"
            title = renderer.site_title(lang)
            home = RenderedModule(Module(config.source, "", title, "", "", 0))
            context = PageContext(url, lang, home, [Crumb(None)], listing=site.listing(lang, url))
            extras[url] = renderer.module_page(context).encode()
    return extras


def _percent(value: float, lang: str) -> str:
    """A percentage as `lang` writes it (Babel), rounded down so that 99.9% is not "100%"."""
    from babel.numbers import format_percent  # only this page needs Babel here

    return format_percent(int(value) / 100, locale=lang.replace("-", "_"))


def translations_table(site: SiteIndex, lang: str, here: str) -> TranslationsTable:
    """The translations page in `lang` (`here`, its site path): every language's progress in
    words, then every page's in each language, linking to the pages."""
    from babel.numbers import format_decimal

    config, rows = site.config, site.progress
    locale = lang if _known_locale(lang) else config.languages[0]
    languages = []
    for other, total in totals(rows, config.languages[1:]).items():
        prefix = language_prefix(config, other)
        languages.append(
            LanguageRow(
                other,
                language_name(other),
                relative_href(here, prefix + "index.html"),
                _percent(total.percent, locale),
                f"{format_decimal(total.words_translated, locale=locale)} / "
                f"{format_decimal(total.words, locale=locale)}",
                format_decimal(total.words_fuzzy, locale=locale),
                other in config.drafts,
            )
        )
    by_page: dict[str, dict[str, Progress]] = {}
    for row in rows:
        by_page.setdefault(row.page, {})[row.lang] = row
    pages = []
    extras = (FIGURES_PAGE, UI_PAGE)
    for page in sorted(by_page, key=lambda p: (p in extras, p)):
        url = page + ".html" if page not in extras else ""
        url = site.moved.get(url, url)  # a root README's catalog, README.po, is index.html's
        meta = site.meta.get((lang, url))
        title = meta.title if meta else page
        cells = []
        for column in languages:
            found = by_page[page].get(column.lang)
            target = language_prefix(config, column.lang) + url
            href = relative_href(here, target) if url in site.urls and found else None
            percent = _percent(found.percent, locale) if found else ""
            cells.append(PageCell(column.lang, percent, href))
        kind = {UI_PAGE: "interface", FIGURES_PAGE: "figures"}.get(page, "page")
        pages.append(PageRow(title, cells, kind))
    contributing = "contributing.html" in site.urls
    prefix = language_prefix(config, lang)
    return TranslationsTable(
        languages,
        pages,
        relative_href(here, prefix + "contributing.html") if contributing else None,
        languages,
    )


def _known_locale(lang: str) -> bool:
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(lang.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return False
    return True
