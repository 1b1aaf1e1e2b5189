"""The whole pipeline, incremental and atomic; `build_site` reads as its table of contents.

load config -> find sources -> parse -> translate (per language) -> markdown+math -> highlight ->
notebook -> page -> check links -> write.

Each page (one source file in one language) is keyed by its source bytes, its translation catalog,
the builder's own code and the config; a key already in the cache skips every stage for that page,
reusing the cached HTML, ids and links, so links are still checked site-wide on every build.
"""

import copy
import dataclasses
import html
import os
import pickle
import posixpath
import re
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from . import __version__, search, xref
from .config import SiteConfig, load_config
from .files import digest
from .links import Link, PageLinks, check_links, ids_in, is_external, resolve, urls_in
from .model import BuildError, Module, fail_or_skip
from .notebook import download_name, notebook_path
from .page import (
    STATIC_DIR,
    Crumb,
    ListingGroup,
    ListingItem,
    PageContext,
    PageRenderer,
    public_url,
    relative_href,
    sitemap_xml,
)
from .paths import language_prefix
from .sources import Input, Source, docs_assets, find_sources, input_trees, read_inputs
from .write import Blob, DamagedBlob, check_out_dir, write_site

ASSET_SUFFIXES = {".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".json", ".jsonl", ".csv"}
PYGMENTS_STYLES = ("default", "github-dark")
SKIPPED_DIRS = {"__pycache__", "node_modules"}


@dataclass
class BuildReport:
    """Seconds per stage, what was rendered and written, the warnings (parse warnings always,
    link and TeX problems with --keep-going), and the problems that left a page out
    (--keep-going)."""

    seconds: dict[str, float] = field(default_factory=dict)
    worker_seconds: dict[str, float] = field(default_factory=dict)  # per stage, over all workers
    pages_total: int = 0
    pages_rendered: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    warnings: list[BuildError] = field(default_factory=list)
    skipped: list[BuildError] = field(default_factory=list)  # pages left out, with why
    unindexed: dict[str, Blob] | None = None  # pages the search index lags behind (serve only)

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


@dataclass
class Meta:
    """What the site knows of a page without rendering it, kept per input key."""

    title: str
    summary: str
    warnings: list[BuildError] = field(default_factory=list)  # from parsing the source


@dataclass
class PageRecord:
    """A rendered page as the cache keeps it."""

    meta: Meta
    html_digest: str
    ids: set[str]
    links: list[Link]
    images: list[Link]
    problems: list[tuple[str, int | None, str]]  # BuildError's (path, line, message)
    notebook: str = ""  # digest of the page's notebook
    notebook_links: list[tuple[str | None, Link]] = field(default_factory=list)  # see PageNotebook


@dataclass
class PageNotebook:
    """A page's notebook: its bytes, and its links to other notebooks with the site path each
    lands on (resolved once, when the notebook is made, so a rebuild checks them cheaply)."""

    data: bytes
    links: list[tuple[str | None, Link]]


def build_site(
    config: SiteConfig | dict | None = None, keep_going: bool = False, index_search: bool = True
) -> BuildReport:
    """Build the site. With `index_search` off, Pagefind is not run: the site gets the newest
    index in the cache, and `report.unindexed` holds the pages for `search.build_index` when
    that index is not theirs (serve refreshes it in the background).

    A cache file found missing or damaged on the way is forgotten with everything made from it,
    and the site is built again (which renders what it lacks).

    With `keep_going`, a page whose source cannot be read, parsed, translated or rendered is left
    out and its error kept in `report.skipped`; the rest of the site is still written."""
    report = BuildReport()
    with report.stage("load config"):
        config = config if isinstance(config, SiteConfig) else load_config(config)
        check_out(config)
    try:
        with search.Indexer(config.cache_dir) as indexer:  # stops Pagefind if the build fails
            return _build(report, config, keep_going, index_search, indexer)
    except DamagedBlob:
        again = BuildReport(seconds=dict(report.seconds))
        with search.Indexer(config.cache_dir) as indexer:
            return _build(again, config, keep_going, index_search, indexer, heal=True)


def _build(report, config, keep_going, index_search, indexer, heal=False) -> BuildReport:
    skipped = report.skipped if keep_going else None
    with report.stage("load config"):
        cache = Cache.load(config.cache_dir, builderdigest())
        if heal:
            cache.heal()
    with report.stage("find sources"):
        sources = find_sources(config, report.warnings, skipped)
        assets = docs_assets(config, report.warnings)
        inputs = read_inputs(config, sources, skipped)
    unknown = [i for i in inputs if i.key not in cache.metas]
    modules = parse_and_translate(report, config, unknown, skipped)
    inputs = [i for i in inputs if i.key in modules or i.key in cache.metas]
    cache.remember_metas({key: page.meta for key, page in modules.items()})
    with report.stage("xref"):
        symbols = xref.site_symbols(config, inputs, modules, cache.builder)
    site = SiteIndex(config, inputs, cache.metas, digest(cache.builder, symbols.key()))
    stale = [i for i in inputs if site.render_key(i) not in cache.records]
    unparsed = [i for i in stale if i.key not in modules]
    modules |= parse_and_translate(report, config, unparsed, skipped)
    stale = [i for i in stale if i.key in modules]
    renderer = PageRenderer(config, lambda lang: ui_translations(lang, config.locale_dir))
    job = PageJob(site, symbols, renderer, cache, modules, keep_going)
    for item, record in render_pages(report, job, stale):  # markdown+math, highlight, xref, page
        cache.records[site.render_key(item)] = record
        cache.dirty = True
        if index_search:  # Pagefind indexes the page while the next ones render
            indexer.add(item.url, cache.blob(record.html_digest))
    inputs = [i for i in inputs if site.render_key(i) in cache.records]  # drops failed renders
    with report.stage("page"):
        records = {i.url: cache.records[site.render_key(i)] for i in inputs}
        outputs = site_outputs(config, site, renderer, records, cache, assets)
    with report.stage("check links"):
        problems = check_site(config, site, records, outputs, keep_going)
        report.warnings = _sorted_problems(
            report.warnings + [w for i in inputs for w in cache.metas[i.key].warnings] + problems
        )
        report.skipped[:] = _sorted_problems(report.skipped)
    with report.stage("search"):
        if index_search:
            outputs |= indexer.finish(outputs)
        else:
            index, current = search.latest_outputs(config.cache_dir, outputs)
            report.unindexed = None if current else search.pages_to_index(outputs)
            outputs |= index
    with report.stage("write"):
        result = write_site(config.out, outputs)
        cache.save({site.render_key(i) for i in inputs}, {i.key for i in inputs}, site.extras_key)
    report.pages_total = len(inputs)
    built = {i.url for i in inputs}
    report.pages_rendered = [i.url for i in stale if i.url in built]
    report.written, report.removed = result.written, result.removed
    return report


# ---------------------------------------------------------------------------------------- sources


def builderdigest() -> str:
    """The builder's version: its own code, templates, static files and UI catalogs."""
    package = Path(__file__).parent
    files = sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return digest(
        __version__, *[(p.relative_to(package).as_posix(), p.read_bytes()) for p in files]
    )


def _sorted_problems(problems: list[BuildError]) -> list[BuildError]:
    """Each problem once (a source's warnings come with each of its languages), by file:line."""
    unique = {(p.path, p.line or 0, p.message): p for p in problems}
    return [unique[key] for key in sorted(unique)]


def check_out(config: SiteConfig) -> None:
    """Refuse an out dir that is the filesystem root, not a folder, holds the package or the docs,
    or is a folder site-builder did not make (before anything is written, the cache included)."""
    check_out_dir(config.out, input_trees(config))


# ------------------------------------------------------------------------ parse and translate


@dataclass
class Translated:
    """A page's module in its language (own Section copies) and whether any part fell back."""

    module: Module
    fallback: bool
    meta: Meta
    source_module: Module


def parse_and_translate(
    report: BuildReport,
    config: SiteConfig,
    inputs: list[Input],
    skipped: list[BuildError] | None = None,
) -> dict:
    """Parse each source once, then translate it into each language asked for. A problem is an
    error, or with a `skipped` list, its pages are left out of the result."""
    if not inputs:
        return {}
    from . import translate

    parsed = parse_sources(
        report, list({item.source.path: item.source for item in inputs}.values()), skipped
    )
    translated = {}
    with report.stage("translate"):
        for item in inputs:
            original = parsed.get(item.source.path)
            if original is None:
                continue
            try:
                module, fallback_ids = translate.translate_module(
                    copy.copy(original), item.lang, config.locale_dir, config.languages[0]
                )
            except BuildError as error:
                fail_or_skip(error, skipped)
                continue
            module = dataclasses.replace(
                module, sections=[dataclasses.replace(s) for s in module.sections]
            )
            meta = Meta(module.title, module.summary, original.warnings)
            translated[item.key] = Translated(module, bool(fallback_ids), meta, original)
    return translated


def parse_sources(
    report: BuildReport, sources: list[Source], skipped: list[BuildError] | None = None
) -> dict[Path, Module]:
    """Each source's module; many sources are parsed in forked worker processes. The first
    error, in source order, is raised as in a serial parse; with a `skipped` list, every error
    is kept there and its source left out."""
    workers = min(_worker_count(len(sources)), len(sources))
    if workers < 2:
        with report.stage("parse"):
            results = []
            for source in sources:
                results.append(_parse_or_problem(source))
                if results[-1][1] and skipped is None:
                    break
    else:
        import multiprocessing

        chunk = max(1, len(sources) // (4 * workers))
        pool = multiprocessing.get_context("fork").Pool(workers)
        with report.stage(f"parse in {workers} processes"), pool:
            results = pool.map(_parse_or_problem, sources, chunksize=chunk)
    parsed = {}
    for source, (module, problem) in zip(sources, results, strict=False):  # a serial parse stops
        if problem:
            fail_or_skip(problem, skipped)
        else:
            parsed[source.path] = module
    return parsed


def _parse(source: Source) -> Module:
    from . import parse

    reader = parse.parse_module if source.path.suffix == ".py" else parse.parse_markdown_page
    return reader(source.path, source.rel_path)


def _parse_or_problem(source: Source) -> tuple[Module | None, BuildError | None]:
    try:
        return _parse(source), None
    except BuildError as error:
        return None, error


def project_ui_catalogs(config: SiteConfig) -> str:
    """Digest of the project's own UI catalogs (`<locale>/<lang>/LC_MESSAGES/site_builder.po`,
    `translate.UI_DOMAIN`); the ones site_builder ships are part of `builder_digest`."""
    if not config.locale_dir:
        return ""
    paths = [
        config.locale_dir / lang / "LC_MESSAGES" / "site_builder.po" for lang in config.languages
    ]
    return digest(*[path.read_bytes() if path.is_file() else None for path in paths])


def ui_translations(lang: str, locale_dir: Path | None = None):
    """UI strings for the templates, from the i18n stage when it provides them."""
    import gettext

    from . import translate

    provider = getattr(translate, "ui_translations", None)
    return provider(lang, locale_dir) if provider else gettext.NullTranslations()


# -------------------------------------------------------------------------- the site as a whole


class SiteIndex:
    """What pages know of each other: titles for crumbs and the home listing, and the keys that
    decide when a cached page is still valid."""

    def __init__(
        self, config: SiteConfig, inputs: list[Input], metas: dict[str, Meta], builder: str
    ):
        self.config = config
        self.inputs = inputs
        self.meta = {(i.lang, i.source.url): metas[i.key] for i in inputs}
        self.urls = {i.source.url for i in inputs}
        self.sources = {i.source.url: i.source for i in inputs}
        folder_titles = sorted(
            (key, meta.title) for key, meta in self.meta.items() if key[1].endswith("index.html")
        )
        ui = project_ui_catalogs(config)
        shared = (builder, config.digest_fields(), "contributing.html" in self.urls, ui)
        self.digest = digest(*shared, folder_titles)
        listing = sorted((k, m.title, m.summary) for k, m in self.meta.items())
        self.home_digest = digest(self.digest, listing)
        self.extras_key = digest(self.home_digest, sorted(self.urls), PYGMENTS_STYLES)

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

    def listing(self, lang: str, here: str) -> list[ListingGroup]:
        """Every page but the home page, grouped by folder (a folder's own page is its heading)."""
        prefix = language_prefix(self.config, lang)
        groups: dict[str, ListingGroup] = {}
        for url in sorted(self.urls - {"index.html"}):
            folder, name = posixpath.split(url)
            index = posixpath.join(folder, "index.html")
            if folder not in groups:
                meta = self.meta.get((lang, index)) if folder else None
                href = relative_href(here, prefix + index) if meta else None
                title = meta.title if meta else (folder or None)
                groups[folder] = ListingGroup(title, href, meta.summary if meta else "")
            if name != "index.html":
                meta = self.meta[(lang, url)]
                href = relative_href(here, prefix + url)
                groups[folder].items.append(ListingItem(meta.title, meta.summary, href))
        return [groups[folder] for folder in sorted(groups, key=lambda f: (f == "", f))]

    def view_code(self, url: str) -> str:
        source = self.source_path(url)
        return self.config.repo_url + source if self.config.repo_url and source else ""

    def source_path(self, url: str) -> str:
        """The page's source file relative to the project root ("" when it lies outside)."""
        source = self.sources.get(url)
        try:
            return source.path.relative_to(self.config.root).as_posix() if source else ""
        except ValueError:
            return ""

    def has_notebook(self, target: str) -> bool:
        """Whether a site path is a page with a notebook: every page made from a source (not
        the 404 page, nor a home page made up because the package has none)."""
        lang, _, rest = target.partition("/")
        page = rest if lang in self.config.languages[1:] else target
        made_up = page == "404.html" or page == "index.html" and page not in self.urls
        return page.endswith(".html") and not made_up

    def notebook_link(self, page: str):
        """Where the notebook of `page` (a site path) sends each of the page's links: a page's
        link to its notebook, other files of the site to their public URL (so that images show
        in a notebook opened anywhere); external links, anchors and links the site cannot
        resolve stay as they are (None)."""
        base_path = _base_path(self.config)

        def link(href: str) -> str | None:
            if not href or href.startswith("#") or is_external(href):
                return None
            target, _ = resolve(page, href, base_path)
            if target is None:
                return None
            if self.has_notebook(target):
                new = relative_href(page, notebook_path(target))
            else:
                new = public_url(self.config, target)
            fragment = urlsplit(href).fragment
            return (new + f"#{fragment}" if fragment else new) if new else None

        return link


# ----------------------------------------------------------------- markdown, highlight, page


@dataclass
class Commentary:
    links: list[Link] = field(default_factory=list)
    images: list[Link] = field(default_factory=list)
    problems: list[BuildError] = field(default_factory=list)


def render_commentary(
    pages: list[Translated], keep_going: bool, docs: Path | None = None
) -> list[Commentary]:
    """Markdown and math for the intro and each section of each page, all their math in one call
    into KaTeX; TeX errors become problems when keep_going, shown in place of the commentary they
    broke. Images not next to their page are looked for at the page's place in `docs`."""
    from .markdown import parse_markdown, render_markdown, render_parsed
    from .tex import render_tex_many

    blocks = []  # (page number, section or None for the intro, text, line, parsed)
    for number, page in enumerate(pages):
        module = page.module
        image_dirs = (docs / posixpath.dirname(module.rel_path),) if docs else ()
        for section, text, line in [
            (None, module.intro, module.intro_line),
            *((s, s.docs, s.docs_line) for s in module.sections),
        ]:
            if text.strip():
                origin = module.origins.get(section.id if section else "intro")
                parsed = parse_markdown(text, module.path, line, origin, image_dirs)
                blocks.append((number, section, text, line, parsed))
            elif section is not None:
                section.docs_html = ""
            else:
                module.intro_html = ""
    render_tex_many([math for *_, parsed in blocks for math in parsed.math])

    found = [Commentary() for _ in pages]
    for number, section, text, line, parsed in blocks:
        path, origin, notice = pages[number].module.path, parsed.origin, ""
        try:
            rendered = render_parsed(parsed)
        except BuildError as error:
            if not (keep_going and error.message.startswith("TeX error")):
                raise
            found[number].problems.append(error)
            notice = f'<p class="build-error">{html.escape(str(error))}</p>'
            rendered = render_markdown(text.replace("$", "\\$"), path, line, origin)
        where = str(origin.path if origin else path)  # a translation: its PO file
        found[number].links += [Link(href, where, n) for href, n in rendered.links]
        found[number].images += [Link(src, where, n) for src, n in rendered.images]
        if section is not None:
            section.docs_html = notice + rendered.html
        else:
            pages[number].module.intro_html = notice + rendered.html
    return found


def highlight_sources(pages: list[Translated]) -> None:
    """Highlight each source once and share the code HTML with its translations (same ids)."""
    if not pages:
        return
    from .highlight import highlight_module

    done: dict[int, dict[str, str]] = {}
    for page in pages:
        original = page.source_module
        if id(original) not in done:
            sections = [dataclasses.replace(s) for s in original.sections]
            highlight_module(original.source, sections)
            done[id(original)] = {s.id: s.code_html for s in sections}
        for section in page.module.sections:
            section.code_html = done[id(original)].get(section.id, "")


@dataclass
class PageJob:
    """What rendering a stale page needs: the site, its symbols, the renderer and the cache."""

    site: "SiteIndex"
    symbols: object
    renderer: PageRenderer
    cache: "Cache"
    modules: dict[str, Translated]
    keep_going: bool

    def render(self, report: BuildReport, items: list[Input]) -> list[PageRecord]:
        """markdown+math -> highlight -> xref -> notebook -> page for the pages of one source (all
        its languages), stored in the cache."""
        pages = [self.modules[item.key] for item in items]
        with report.stage("markdown+math"):
            found = render_commentary(pages, self.keep_going, self.site.config.docs)
        with report.stage("highlight"):
            highlight_sources(pages)
        with report.stage("xref"):
            for item, page in zip(items, pages, strict=True):
                xref.annotate_module(page.module, item.source.url, self.symbols)
        with report.stage("notebook"):
            notebooks = [
                page_notebook(self.site, item, page, commentary)
                for item, page, commentary in zip(items, pages, found, strict=True)
            ]
        with report.stage("page"):
            return [
                self.cache.store(render_page(self.renderer, self.site, item, page, found_, book))
                for item, page, found_, book in zip(items, pages, found, notebooks, strict=True)
            ]


WORKERS_ENV = "SITE_BUILDER_WORKERS"  # a number of processes; 1 renders in this process
POOL_MIN_PAGES = 16
MAX_WORKERS = 8
_forked_job: tuple[PageJob, list[list[Input]]] | None = None  # what forked workers inherit


def render_pages(report: BuildReport, job: PageJob, stale: list[Input]):
    """Yield (input, record) for every stale page, rendered in this process or, when there are
    many, in forked worker processes (identical results; each worker starts its own KaTeX).
    Rendered math is kept in the cache folder for later builds."""
    global _forked_job
    if not stale:
        return
    from . import tex

    tex.use_disk_cache(job.cache.folder)
    by_source: dict[str, list[Input]] = {}
    for item in stale:
        by_source.setdefault(item.source.url, []).append(item)
    units = list(by_source.values())
    workers = min(_worker_count(len(stale)), len(units))
    skipped = report.skipped if job.keep_going else None
    if workers < 2:
        for items in units:
            try:
                records = job.render(report, items)
            except BuildError as error:
                fail_or_skip(error, skipped)
                continue
            yield from zip(items, records, strict=True)
        tex.save_disk_cache()
        return
    import multiprocessing

    _forked_job = (job, units)
    try:
        pool = multiprocessing.get_context("fork").Pool(workers)
        with report.stage(f"pages in {workers} processes"), pool:
            done = pool.imap(_render_forked, range(len(units)), chunksize=1)
            for items, (records, seconds, problem, math) in zip(units, done, strict=True):
                for stage, spent in seconds.items():
                    report.worker_seconds[stage] = report.worker_seconds.get(stage, 0.0) + spent
                tex.remember(math)
                if problem:
                    fail_or_skip(BuildError(*problem), skipped)
                    continue
                yield from zip(items, records, strict=True)  # as each unit is done
    finally:
        _forked_job = None
    tex.save_disk_cache()


def _render_forked(unit: int):
    """In a worker: render one unit; a BuildError comes back as (path, line, message), and the
    math rendered as `tex.take_unsaved()`."""
    from .tex import take_unsaved

    job, units = _forked_job
    report = BuildReport()
    try:
        return job.render(report, units[unit]), report.seconds, None, take_unsaved()
    except BuildError as error:
        return [], report.seconds, (error.path, error.line, error.message), take_unsaved()


def _worker_count(pages: int) -> int:
    """Processes for rendering: $SITE_BUILDER_WORKERS, else the usable cores when there are many
    pages. 1 (this process) wherever forking is unsafe: V8 already started here, other threads
    running (a lock held by one of them stays held in the child), or no fork on this system."""
    import multiprocessing
    import threading

    from .tex import v8_started

    override = os.environ.get(WORKERS_ENV, "").strip()
    if override:
        if not override.isdigit() or int(override) < 1:
            raise BuildError(WORKERS_ENV, None, f"must be a whole number >= 1, not {override!r}")
        workers = int(override)
    elif pages >= POOL_MIN_PAGES:
        workers = min(len(os.sched_getaffinity(0)), MAX_WORKERS)
    else:
        workers = 1
    forkable = "fork" in multiprocessing.get_all_start_methods()
    if workers < 2 or not forkable or v8_started() or threading.active_count() > 1:
        return 1
    return workers


def render_page(
    renderer, site: SiteIndex, item: Input, page: Translated, found: Commentary, notebook=None
):
    url, lang = item.source.url, item.lang
    contributing = "contributing.html" in site.urls
    prefix = language_prefix(site.config, lang)
    context = PageContext(
        url=item.url,
        lang=lang,
        module=page.module,
        crumbs=site.crumbs(lang, url),
        view_code=site.view_code(url),
        fallback=page.fallback,
        contributing_href=relative_href(item.url, prefix + "contributing.html")
        if contributing
        else None,
        listing=site.listing(lang, item.url) if url == "index.html" else [],
        notebook=posixpath.basename(notebook_path(item.url)) if notebook else "",
        notebook_name=download_name(url),
    )
    return renderer.module_page(context), page.meta, found, str(item.source.path), notebook


def page_notebook(site: SiteIndex, item: Input, page: Translated, found: Commentary):
    """The page's notebook: the module in the page's language, its links (those the markdown
    stage found) sent where `SiteIndex.notebook_link` says. (A page whose notebook is None has
    none, and no link to one: benchmarks/build_site.py builds that way to measure what notebooks
    cost.)"""
    from .notebook import module_notebook

    root_package = site.config.source.name if item.source.tree == "package" else None
    source = site.source_path(item.source.url)
    destinations = {found_link.href for found_link in found.links + found.images}
    link = site.notebook_link(item.url)
    book = module_notebook(page.module, link, root_package, source, destinations)
    here, base_path = notebook_path(item.url), _base_path(site.config)
    # A notebook link is written where its page link was (a PO file's line, for a translation).
    written = {link(found_link.href): found_link for found_link in found.links + found.images}
    links = [
        (resolve(here, href, base_path)[0], Link(href, *_where(written.get(href), item, line)))
        for href, line in book.links
        if not is_external(href)
    ]
    return PageNotebook(book.data, links)


def _where(page_link: Link | None, item: Input, line: int | None) -> tuple[str, int | None]:
    return (page_link.file, page_link.line) if page_link else (str(item.source.path), line)


def _template_links(page_html: str, found: Commentary, page_file: str) -> list[Link]:
    """Links in the HTML that commentary did not write: they come from the templates."""
    extra = Counter(urls_in(page_html))
    extra.subtract(link.href for link in found.links + found.images)
    return [Link(href, page_file) for href, n in sorted(extra.items()) for _ in range(max(n, 0))]


# ----------------------------------------------------------------- outputs and link checking


def site_outputs(config, site, renderer, records, cache, assets) -> dict[str, Blob]:
    """Every file of the site: pages, static files, KaTeX, docs `assets` (per language), extras."""
    outputs = {url: cache.blob(record.html_digest) for url, record in records.items()}
    notebooks = {url: record.notebook for url, record in records.items() if record.notebook}
    outputs |= {notebook_path(url): cache.blob(digest) for url, digest in notebooks.items()}
    # static/*.css are not copied: they go into the one stylesheet made in _extras.
    static = {f"static/{p.name}": p for p in STATIC_DIR.iterdir() if p.is_file()}
    static = {rel: path for rel, path in static.items() if path.suffix != ".css"}
    outputs |= {rel: cache.file_blob(path) for rel, path in static.items()} | katex_outputs(cache)
    for lang in config.languages:
        prefix = language_prefix(config, lang)
        for rel, path in assets.items():
            outputs[prefix + rel] = cache.file_blob(path)
    outputs |= cache.extras(site.extras_key, lambda: _extras(config, site, renderer))
    return outputs


# Browsers that can run the site all read woff2, so the other formats are left out of KaTeX's CSS.
_LEGACY_FONT_SOURCE = re.compile(r',url\(fonts/[^)]+\.(?:woff|ttf)\) format\("(?:woff|truetype)"\)')


def katex_outputs(cache: "Cache") -> dict[str, Blob]:
    """KaTeX's stylesheet with woff2 font sources only, and the font files it still names."""
    from .tex import katex_dist_dir

    dist = katex_dist_dir()
    css = _LEGACY_FONT_SOURCE.sub("", (dist / "katex.min.css").read_text(encoding="utf-8"))
    outputs = {"static/katex/katex.min.css": Blob.of_bytes(css.encode())}
    for name in sorted(set(re.findall(r"url\(fonts/([^)]+)\)", css))):
        outputs[f"static/katex/fonts/{name}"] = cache.file_blob(dist / "fonts" / name)
    return outputs


def _extras(config: SiteConfig, site: SiteIndex, renderer: PageRenderer) -> dict[str, bytes]:
    """Files made from the site as a whole: 404 page, sitemap, the stylesheet (site.css with the
    Pygments colours), and a home page listing everything when the package has no root
    `__init__.py`."""
    from .page import stylesheet

    extras = {
        "404.html": renderer.not_found_page().encode(),
        "sitemap.xml": sitemap_xml(config, sorted(site.urls | {"index.html"})).encode(),
        "static/site.css": stylesheet(*PYGMENTS_STYLES).encode(),
    }
    if "index.html" not in site.urls:
        for lang in config.languages:
            url = language_prefix(config, lang) + "index.html"
            home = Module(config.source, "", config.title, "", "", 0)
            context = PageContext(url, lang, home, [Crumb(None)], listing=site.listing(lang, url))
            extras[url] = renderer.module_page(context).encode()
    return extras


def check_site(config, site, records, outputs, keep_going) -> list[BuildError]:
    """Copy referenced images into the site, then check every link; problems stop the build,
    or with keep_going come back as warnings."""
    problems = [BuildError(*p) for record in records.values() for p in record.problems]
    for url, record in records.items():
        for image in record.images:
            problems += _add_image(config, url, image, outputs)
    pages = {url: PageLinks(record.ids, record.links) for url, record in records.items()}
    for rel, blob in outputs.items():
        if rel.endswith(".html") and rel not in pages:
            page_html = blob.content().decode()
            pages[rel] = PageLinks(ids_in(page_html), [Link(h, rel) for h in urls_in(page_html)])
    files = set(outputs) - set(pages)
    base_path = _base_path(config)
    for link, message in check_links(pages, files, base_path):
        problems.append(BuildError(link.file, link.line, message))
    problems += check_notebook_links(records, outputs, problems)
    problems.sort(key=lambda p: (p.path, p.line or 0, p.message))
    if problems and not keep_going:
        raise problems[0]
    return problems


def check_notebook_links(records, outputs, page_problems) -> list[BuildError]:
    """Each notebook's links to other notebooks must land on one (their anchors are not checked).
    A link whose page link is already reported broken is not reported again."""
    reported = {(p.path, p.line) for p in page_problems}
    return [
        BuildError(link.file, link.line, f"broken link '{link.href}': no notebook at that path")
        for record in records.values()
        for target, link in record.notebook_links
        if target not in outputs and (link.file, link.line) not in reported
    ]


def _base_path(config: SiteConfig) -> str:
    return urlsplit(config.base_url).path or "/"


def _add_image(config: SiteConfig, url: str, image: Link, outputs: dict) -> list[BuildError]:
    """Find an image in the package tree, then the docs tree; copy it to where the page needs it."""
    if is_external(image.href):
        return []
    target, _ = resolve(url, image.href, _base_path(config))
    if target in outputs:
        return []
    lang_free = target
    for lang in config.languages[1:]:
        if target and target.startswith(lang + "/"):
            lang_free = target[len(lang) + 1 :]
    for tree in (config.source, config.docs):
        if not (tree and lang_free and (tree / lang_free).is_file()):
            continue
        found = (tree / lang_free).resolve()
        if not any(found.is_relative_to(t) for t in input_trees(config)):
            message = f"image '{image.href}' links outside the source tree (to {found})"
            return [BuildError(image.file, image.line, message)]
        outputs[target] = Blob.of_file(found)
        return []
    return [BuildError(image.file, image.line, f"missing image '{image.href}'")]


# -------------------------------------------------------------------------------------- cache


class Cache:
    """Render results by key (pickled index) and the bytes of pages by digest (blob files)."""

    INDEX = "index.pickle"

    def __init__(self, folder: Path, builder: str):
        self.folder, self.builder = folder, builder
        self.metas: dict[str, Meta] = {}
        self.records: dict[str, PageRecord] = {}
        self.extra_files: dict[str, dict[str, str]] = {}
        self.file_digests: dict[str, tuple[int, int, str]] = {}
        self.dirty = False

    @classmethod
    def load(cls, folder: Path, builder: str) -> "Cache":
        cache = cls(folder, builder)
        try:
            with open(folder / cls.INDEX, "rb") as handle:
                saved = pickle.load(handle)
        except Exception:  # a missing, old or damaged cache is rebuilt
            return cache
        if saved.get("builder") == builder:
            cache.metas, cache.records = saved["metas"], saved["records"]
            cache.extra_files, cache.file_digests = saved["extras"], saved["files"]
        return cache

    def _blob_path(self, digest: str) -> Path:
        return self.folder / "blobs" / digest[:2] / digest

    def heal(self) -> None:
        """Forget the pages and extras whose blob is missing or damaged (deleting the damaged
        files), and every remembered file digest, so that this build makes them again."""
        used = {r.html_digest for r in self.records.values()}
        used |= {d for files in self.extra_files.values() for d in files.values()}
        bad = set()
        for used_digest in used:
            try:
                Blob(used_digest, path=self._blob_path(used_digest)).content()
            except (DamagedBlob, OSError):
                bad.add(used_digest)
                self._blob_path(used_digest).unlink(missing_ok=True)
        self.records = {k: r for k, r in self.records.items() if r.html_digest not in bad}
        self.extra_files = {
            k: files for k, files in self.extra_files.items() if not bad & set(files.values())
        }
        self.file_digests = {}
        self.dirty = True

    def blob(self, digest: str) -> Blob:
        return Blob(digest, path=self._blob_path(digest))

    def _put(self, data: bytes) -> str:
        blob = Blob.of_bytes(data)
        path = self._blob_path(blob.digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_suffix(f".tmp{os.getpid()}")
            temp.write_bytes(data)
            os.replace(temp, path)
        return blob.digest

    def store(self, rendered) -> PageRecord:
        page_html, meta, found, page_file, notebook = rendered
        self.dirty = True
        links = found.links + _template_links(page_html, found, page_file)
        digest = self._put(page_html.encode())
        problems = [(p.path, p.line, p.message) for p in found.problems]
        record = PageRecord(meta, digest, ids_in(page_html), links, found.images, problems)
        if notebook:
            record.notebook, record.notebook_links = self._put(notebook.data), notebook.links
        return record

    def remember_metas(self, metas: dict[str, Meta]) -> None:
        self.metas.update(metas)
        self.dirty = self.dirty or bool(metas)

    def file_blob(self, path: Path) -> Blob:
        """A blob for a file on disk; its digest is remembered by (size, mtime)."""
        try:
            info = path.stat()
            known = self.file_digests.get(str(path))
            if known and known[:2] == (info.st_size, info.st_mtime_ns):
                return Blob(known[2], path=path)
            blob = Blob.of_file(path)
        except OSError as error:
            raise BuildError(path, None, f"cannot read: {error.strerror or error}") from None
        self.file_digests[str(path)] = (info.st_size, info.st_mtime_ns, blob.digest)
        self.dirty = True
        return blob

    def extras(self, key: str, make) -> dict[str, Blob]:
        if key not in self.extra_files:
            self.extra_files[key] = {rel: self._put(data) for rel, data in make().items()}
            self.dirty = True
        return {rel: self.blob(digest) for rel, digest in self.extra_files[key].items()}

    def save(self, record_keys: set[str], meta_keys: set[str], extras_key: str) -> None:
        """Keep only what this build used; rewrite the index only when something changed."""
        for table, keep in ((self.records, record_keys), (self.metas, meta_keys)):
            for key in set(table) - keep:
                del table[key]
                self.dirty = True
        for key in set(self.extra_files) - {extras_key}:
            del self.extra_files[key]
            self.dirty = True
        if not self.dirty:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        saved = {
            "builder": self.builder,
            "metas": self.metas,
            "records": self.records,
            "extras": self.extra_files,
            "files": self.file_digests,
        }
        temp = self.folder / f"{self.INDEX}.tmp{os.getpid()}"
        temp.write_bytes(pickle.dumps(saved, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(temp, self.folder / self.INDEX)
        self._prune_blobs()

    def _prune_blobs(self) -> None:
        used = {r.html_digest for r in self.records.values()}
        used |= {r.notebook for r in self.records.values() if r.notebook}
        used |= {d for files in self.extra_files.values() for d in files.values()}
        for path in (self.folder / "blobs").glob("*/*"):
            if path.name not in used:
                path.unlink(missing_ok=True)
