"""The pipeline. `build_site` is the table of contents of site_builder:

    sources -> parse -> translate -> render -> page -> check -> search -> write
                                     markdown+math, highlight, cross-references; notebook

Each stage is a module with one job: a function of what the stages before it made. The cache
wraps the stages from outside (`Cache.cached`): a value is kept under a digest of everything it
depends on, so a rebuild parses, translates and renders only the pages whose inputs changed, and
links are still checked site-wide on every build. The site is written atomically: a failed build
leaves the previous site as it was.
"""

import posixpath
import time
from collections import Counter
from dataclasses import dataclass, field

from . import search, tex, xref
from .cache import Cache, builder_digest, search_indexes
from .config import SiteConfig, load_config
from .files import DamagedBlob, digest
from .lazy import lazy_module
from .links import Link, check_site, ids_in, is_external, resolve, urls_in
from .model import BuildError, Module, fail_or_skip
from .notebook import module_notebook
from .page import PageContext, PageRenderer
from .parse import parse_source
from .paths import dotted_name, download_name, language_prefix, notebook_path, relative_href
from .report import BuildReport
from .site import Meta, SiteIndex, page_images, site_base_path, site_files, whole_site_files
from .sources import Input, Source, docs_assets, find_sources, input_trees, read_inputs
from .workers import fork_map, worker_count
from .write import check_out_dir, write_site
from .xref import SymbolTable

# Imported on first use: a build with nothing to render loads no rendering library.
render = lazy_module("site_builder.render")  # markdown-it, Pygments, KaTeX
translate = lazy_module("site_builder.translate")  # Babel


def build_site(
    config: SiteConfig | dict | None = None,
    keep_going: bool = False,
    index_search: bool = True,
    katex: "tex.KatexRenderer | None" = None,
) -> BuildReport:
    """Build the site. With `index_search` off, Pagefind is not run: the site gets the newest
    index in the cache, and `report.unindexed` holds the pages for `search.build_index` when
    that index is not theirs (serve refreshes it in the background).

    With `keep_going`, a page whose source cannot be read, parsed, translated or rendered is left
    out and its error kept in `report.skipped`, links and TeX errors become warnings, and the rest
    of the site is still written. `katex`, a renderer that outlives the build (`serve` keeps one,
    so that V8 starts once), is used instead of a new one. A cache file found missing or damaged
    on the way is forgotten, with everything made from it, and the site is built again."""
    report = BuildReport()
    with report.stage("config"):
        config = config if isinstance(config, SiteConfig) else load_config(config)
        check_out(config)
    try:
        return _build(report, config, keep_going, index_search, katex)
    except DamagedBlob:
        again = BuildReport(seconds=dict(report.seconds))
        return _build(again, config, keep_going, index_search, katex, heal=True)


def _build(report, config, keep_going, index_search, katex, heal=False) -> BuildReport:
    skipped = report.skipped if keep_going else None
    cache = Cache.load(config.cache_dir, builder_digest())
    if heal:
        cache.heal()
    with report.stage("sources"):
        inputs = read_inputs(config, find_sources(config, report.warnings, skipped), skipped)
    modules = Modules(report, config, inputs, skipped)  # parse -> translate, for what is not kept
    metas = cache.cached("meta", [i.key for i in inputs], modules.metas)
    inputs = [i for i in inputs if i.key in metas]
    symbols = cache.cached("symbols", python_keys(config, inputs), modules.symbols)
    symbols = SymbolTable(list(symbols.values()))  # names pages may link to
    site = SiteIndex(config, inputs, metas, digest(cache.builder, symbols.key()))
    ui = lambda lang: translate.ui_translations(lang, config.locale_dir)  # noqa: E731
    renderer = PageRenderer(config, ui, cache.templates_folder())
    job = PageJob(site, symbols, renderer, modules, cache.put, keep_going)
    with search.Indexer(search_indexes(cache.folder)) as indexer:  # stops if the build fails
        # Pagefind indexes each page as it comes out of rendering, while the next ones render.
        made = indexer.add if index_search else None
        pages = rendered_pages(report, cache, job, inputs, katex, made)  # render -> page
        with report.stage("page"):
            outputs = site_outputs(config, site, renderer, pages, cache, report.warnings)
        with report.stage("check"):
            outputs, problems = checked(config, pages, outputs, keep_going)
        with report.stage("search"):
            documents = {url: cache.blob(record.search) for url, record in pages.items()}
            outputs |= search_index(config, documents, indexer if index_search else None, report)
    with report.stage("write"):
        result = write_site(config.out, outputs, link_from=cache.folder)
        cache.save()
    parse_warnings = [w for i in inputs if i.url in pages for w in metas[i.key].warnings]
    report.warnings = _sorted_problems(report.warnings + parse_warnings + problems)
    report.skipped[:] = _sorted_problems(report.skipped)
    report.pages_total = len(pages)
    report.written, report.removed = result.written, result.removed
    return report


def check_out(config: SiteConfig) -> None:
    """Refuse an out dir that is the filesystem root, not a folder, holds the package or the docs,
    or is a folder site-builder did not make (before anything is written, the cache included)."""
    check_out_dir(config.out, input_trees(config))


def _sorted_problems(problems: list[BuildError]) -> list[BuildError]:
    """Each problem once (a source's warnings come with each of its languages), by file:line."""
    unique = {(p.path, p.line or 0, p.message): p for p in problems}
    return [unique[key] for key in sorted(unique)]


# ------------------------------------------------------------------------ parse and translate


@dataclass
class Translated:
    """A page's module in its language, whether any part fell back to English, what the site
    knows of it, and the module it was translated from (whose code every language shares)."""

    module: Module
    fallback: bool
    meta: Meta
    source_module: Module


def parse_or_problem(source: Source) -> tuple[Module | None, BuildError | None]:
    try:
        return parse_source(source.path, source.rel_path), None
    except BuildError as error:
        return None, error


class Modules:
    """The parse and translate stages, run for the inputs the cache does not answer for: each
    source is parsed once (in worker processes when there are many), then translated into each
    language asked for. A problem is an error, or with a `skipped` list, its pages are left
    out."""

    def __init__(self, report, config: SiteConfig, inputs: list[Input], skipped):
        self.report, self.config, self.skipped = report, config, skipped
        self.inputs = {i.key: i for i in inputs}
        self.done: dict[str, Translated] = {}

    def translated(self, keys: list[str]) -> dict[str, Translated]:
        todo = [self.inputs[key] for key in keys if key not in self.done]
        parsed = self._parse(list({i.source.path: i.source for i in todo}.values()))
        with self.report.stage("translate"):
            for item in todo:
                original = parsed.get(item.source.path)
                if original is None:
                    continue
                try:
                    module, fallback = translate.translate_module(
                        original, item.lang, self.config.locale_dir, self.config.languages[0]
                    )
                except BuildError as error:
                    fail_or_skip(error, self.skipped)
                    continue
                meta = Meta(module.title, module.summary, original.warnings)
                self.done[item.key] = Translated(module, bool(fallback), meta, original)
        return {key: self.done[key] for key in keys if key in self.done}

    def _parse(self, sources: list[Source]) -> dict:
        """Each source's module; the first error, in source order, is raised as in a serial
        parse; with a `skipped` list, every error is kept there and its source left out."""
        if not sources:
            return {}
        workers = worker_count(len(sources), fork_safe=not tex.v8_started())
        self.report.processes = max(self.report.processes, workers)
        chunk = max(1, len(sources) // (4 * workers))
        parsed = {}
        with self.report.stage("parse"):
            results = fork_map(lambda n: parse_or_problem(sources[n]), len(sources), workers, chunk)
            for source, (module, problem) in zip(sources, results, strict=True):
                if problem:
                    fail_or_skip(problem, self.skipped)
                else:
                    parsed[source.path] = module
        return parsed

    def metas(self, keys: list[str]) -> dict[str, Meta]:
        return {key: page.meta for key, page in self.translated(keys).items()}

    def symbols(self, keys: list[str]) -> dict:
        """The names each module defines and imports (see `xref`), from its parse."""
        found = {}
        for key, page in self.translated(keys).items():
            source = self.inputs[key].source
            dotted = dotted_name(self.config.source.name, source.rel_path)
            found[key] = xref.module_symbols(page.source_module, dotted)
        return found


def python_keys(config: SiteConfig, inputs: list[Input]) -> list[str]:
    """The inputs whose names other pages may link to: the package's modules, first language."""
    first = config.languages[0]
    return [
        i.key
        for i in inputs
        if (i.lang, i.source.tree, i.source.path.suffix) == (first, "package", ".py")
    ]


# ---------------------------------------------------------------------------- render and page


@dataclass
class PageNotebook:
    """A page's notebook: its bytes, and its links to other notebooks with the site path each
    lands on (resolved once, when the notebook is made, so a rebuild checks them cheaply)."""

    data: bytes
    links: list[tuple[str | None, Link]]


@dataclass
class PageRecord:
    """A rendered page as the cache keeps it: its HTML, notebook and search document (blob
    digests), and what the check stage needs of it."""

    meta: Meta
    html_digest: str
    ids: set[str]
    links: list[Link]
    images: list[Link]
    problems: list[tuple[str, int | None, str]]  # BuildError's (path, line, message)
    notebook: str = ""  # digest of the page's notebook
    notebook_links: list[tuple[str | None, Link]] = field(default_factory=list)  # see PageNotebook
    search: str = ""  # digest of the page's search document (`search.search_document`)

    def blobs(self) -> list[str]:
        return [d for d in (self.html_digest, self.notebook, self.search) if d]


@dataclass
class PageJob:
    """What making the pages of one source needs: the site, its symbols, the page renderer, the
    modules, KaTeX, and `keep(bytes) -> digest`, which keeps a page's bytes (the cache's)."""

    site: SiteIndex
    symbols: SymbolTable
    renderer: PageRenderer
    modules: Modules
    keep: object
    keep_going: bool
    katex: "tex.KatexRenderer | None" = None
    pages: dict[str, Translated] = field(default_factory=dict)

    def make(self, items: list[Input]) -> tuple[list[PageRecord], dict[str, float]]:
        """render (markdown+math, highlight, cross-references) -> notebook -> page, for the pages
        of one source (all its languages); returns their records and the seconds per stage."""
        report = BuildReport()
        pages = [self.pages[item.key] for item in items]
        linkers = [xref.PageLinker(self.symbols, item.source.url) for item in items]
        with report.stage("render"):
            rendered = render.render_source(
                pages[0].source_module,
                [page.module for page in pages],
                self.katex,
                linkers,
                self.keep_going,
                self.site.config.docs,
            )
        with report.stage("notebook"):
            notebooks = [
                page_notebook(self.site, item, page, found)
                for item, page, (_, found) in zip(items, pages, rendered, strict=True)
            ]
        with report.stage("page"):
            records = [
                self.record(item, page, done, found, book)
                for item, page, (done, found), book in zip(
                    items, pages, rendered, notebooks, strict=True
                )
            ]
        return records, report.seconds

    def record(self, item, page, rendered, found, notebook) -> PageRecord:
        page_html = render_page(self.renderer, self.site, item, page, rendered, notebook)
        links = found.links + _template_links(page_html, found, str(item.source.path))
        problems = [(p.path, p.line, p.message) for p in found.problems]
        html_digest = self.keep(page_html.encode())
        record = PageRecord(
            page.meta, html_digest, ids_in(page_html), links, found.images, problems
        )
        title = page.module.title
        words = f"{title}\n{rendered.text}"
        record.search = self.keep(search.search_document(item.url, item.lang, title, words))
        if notebook:
            record.notebook, record.notebook_links = self.keep(notebook.data), notebook.links
        return record


def rendered_pages(
    report, cache: Cache, job: PageJob, inputs: list[Input], katex=None, made=None
) -> dict[str, PageRecord]:
    """Every page's record by site path: kept ones, and the others made now (in worker
    processes when there are many; each worker starts its own KaTeX). A page that fails is an
    error, or with --keep-going, left out. KaTeX's results are kept in the cache; `katex` (a
    renderer that outlives this build, as `serve` keeps one) is used instead of a new one.
    `made(url, document)` is handed each page's search document as soon as the page is made."""
    keyed = {job.site.render_key(i): i for i in inputs}

    def make(keys: list[str]) -> dict[str, PageRecord]:
        items = [keyed[key] for key in keys]
        job.pages = job.modules.translated([i.key for i in items])
        by_source: dict[str, list[Input]] = {}
        for item in items:
            if item.key in job.pages:
                by_source.setdefault(item.source.url, []).append(item)
        units = list(by_source.values())
        memo_key = tex.KatexRenderer.memo_key()
        if katex is None:  # KaTeX's results kept by earlier builds are not rendered again
            job.katex = tex.KatexRenderer(cache.load_math(memo_key))
        else:
            job.katex = katex
            if not katex.knows(memo_key):
                katex.know(memo_key, cache.load_math(memo_key))
        workers = worker_count(len(items), fork_safe=not tex.v8_started())
        report.processes = max(report.processes, workers)
        job.renderer.prepare()
        # One process: the stages' own seconds; worker processes: their wall time, and the
        # stages' seconds summed over the workers.
        stage_seconds = report.seconds if workers < 2 else report.worker_seconds
        started, done, new_math = time.perf_counter(), {}, {}
        results = fork_map(lambda n: _make_unit(job, units[n]), len(units), workers)
        for unit, (records, seconds, problem, math) in zip(units, results, strict=True):
            for stage, spent in seconds.items():
                stage_seconds[stage] = stage_seconds.get(stage, 0.0) + spent
            new_math |= math
            if problem:
                fail_or_skip(BuildError(*problem), job.modules.skipped)
                continue
            for item, record in zip(unit, records, strict=True):
                done[job.site.render_key(item)] = record
                report.pages_rendered.append(item.url)
                if made:
                    made(item.url, cache.blob(record.search))
        if workers > 1:
            report.seconds["render"] = time.perf_counter() - started
        cache.save_math(memo_key, new_math)
        if job.katex is not katex:
            job.katex.close()
        return done

    records = cache.cached("page", keyed, make)
    return {item.url: records[key] for key, item in keyed.items() if key in records}


def _make_unit(job: PageJob, items: list[Input]):
    """One source's pages (in a worker, when there are many): (records, seconds, problem, math
    rendered for them); a BuildError comes back as its (path, line, message)."""
    try:
        records, seconds = job.make(items)
        return records, seconds, None, job.katex.new_results()
    except BuildError as error:
        return [], {}, (error.path, error.line, error.message), job.katex.new_results()


def render_page(renderer, site, item: Input, page: Translated, rendered, notebook=None) -> str:
    """The page stage for one page: its context (crumbs, listing, links), laid out."""
    url, lang = item.source.url, item.lang
    contributing = "contributing.html" in site.urls
    prefix = language_prefix(site.config, lang)
    context = PageContext(
        url=item.url,
        lang=lang,
        page=rendered,
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
    return renderer.module_page(context)


def page_notebook(site: SiteIndex, item: Input, page: Translated, found: "render.Commentary"):
    """The page's notebook: the module in the page's language, its links (those the markdown
    stage found) sent where `SiteIndex.notebook_link` says. (A page whose notebook is None has
    none, and no link to one: benchmarks/build_site.py builds that way to measure what notebooks
    cost.)"""

    root_package = site.config.source.name if item.source.tree == "package" else None
    source = site.source_path(item.source.url)
    destinations = {found_link.href for found_link in found.links + found.images}
    link = site.notebook_link(item.url)
    book = module_notebook(page.module, link, root_package, source, destinations)
    here, base_path = notebook_path(item.url), site_base_path(site.config)
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


def _template_links(page_html: str, found: "render.Commentary", page_file: str) -> list[Link]:
    """Links in the HTML that commentary did not write: they come from the templates."""
    extra = Counter(urls_in(page_html))
    extra.subtract(link.href for link in found.links + found.images)
    return [Link(href, page_file) for href, n in sorted(extra.items()) for _ in range(max(n, 0))]


# ------------------------------------------------------------------------- the site's files


@dataclass
class StoredFiles:
    """Files kept in the cache: site path -> blob digest."""

    digests: dict[str, str]

    def blobs(self) -> list[str]:
        return list(self.digests.values())


def site_outputs(config, site, renderer, pages: dict[str, PageRecord], cache: Cache, warnings):
    """Every file of the site but its images and search index (see `site.site_files`)."""
    files = {url: cache.blob(record.html_digest) for url, record in pages.items()}
    files |= {
        notebook_path(url): cache.blob(record.notebook)
        for url, record in pages.items()
        if record.notebook
    }

    def whole_site(keys: list[str]) -> dict[str, StoredFiles]:
        made = whole_site_files(config, site, renderer)
        return {keys[0]: StoredFiles({rel: cache.put(data) for rel, data in made.items()})}

    stored = cache.cached("whole site", [site.extras_key], whole_site)[site.extras_key]
    whole = {rel: cache.blob(content_digest) for rel, content_digest in stored.digests.items()}
    return site_files(config, files, cache.file_blob, docs_assets(config, warnings), whole)


def checked(config: SiteConfig, pages: dict, outputs: dict, keep_going: bool):
    """The site's files with the images its pages show, and its problems (see
    `links.check_site`); a problem stops the build unless `keep_going`."""
    images, problems = page_images(config, {url: r.images for url, r in pages.items()}, outputs)
    outputs = outputs | images
    problems = _sorted_problems(problems + check_site(pages, outputs, site_base_path(config)))
    if problems and not keep_going:
        raise problems[0]
    return outputs, problems


def search_index(config: SiteConfig, documents: dict, indexer, report) -> dict:
    """The search index of the pages' search `documents` (`indexer` has been fed those rendered
    in this build); without an `indexer`, the newest one the cache holds, with `report.unindexed`
    set to the documents it lacks (serve indexes them in the background)."""
    if indexer is not None:
        return indexer.finish(documents)
    index, current = search.latest_outputs(search_indexes(config.cache_dir), documents)
    report.unindexed = None if current else search.documents_to_index(documents)
    return index
