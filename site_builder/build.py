"""The pipeline. `build_site` is the table of contents of site_builder: it names every stage, in
order, each a function of what the stages before it made:

    sources -> parse -> translate -> symbols -> render -> notebook -> page -> check -> search
                                                  |                                     -> write
                                                  markdown+math, highlight, cross-references

The records that pass between them are in `model`. The cache wraps the stages from outside: the
build asks it which values it lacks (`Cache.missing`), runs the stage for those, and hands it
what the stage made (`Cache.kept`). A value is kept under a digest of everything it depends on,
so a rebuild parses, translates and renders only the pages whose inputs changed, and links are
still checked site-wide on every build. Worker processes run `make_pages` (render -> notebook ->
page), a function of one source's translated pages and of what every page shares. The site is
written atomically: a failed build leaves the previous site as it was.

A problem is a `BuildError`. A bug met while reading, parsing, translating, rendering or writing
one page is one too (`model.internal_error`, naming the file), so that with --keep-going that page
is left out like any page that cannot be built, and without it the build stops with one line.
"""

import posixpath
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import issues, progress, search, site_texts, tex
from .cache import Cache, builder_digest
from .config import SiteConfig, load_config
from .files import Blob, DamagedBlob, digest
from .images import image_search, linked_files, page_images
from .lazy import lazy_module
from .links import check_site, ids_in, is_external, resolve, urls_in
from .model import (
    BuildError,
    BuildErrors,
    Commentary,
    Input,
    Link,
    MadePages,
    Meta,
    Module,
    ModuleSymbols,
    NotebookLink,
    PageNotebook,
    PageRecord,
    Parsed,
    RenderedModule,
    StoredFiles,
    Translated,
    fail_or_skip,
    internal_error,
)
from .notebook import has_code, module_notebook
from .page import PageContext, PageRenderer
from .paths import (
    base_path,
    dotted_name,
    download_name,
    language_prefix,
    notebook_path,
    relative_href,
    url_path,
)
from .report import BuildReport
from .site import SiteIndex, site_files, whole_site_files
from .sources import docs_assets, find_sources, input_trees, read_inputs
from .workers import fork_map, worker_count
from .write import check_out_dir, write_site
from .xref import PageLinker, SymbolTable, module_symbols

# Imported on first use: a build with nothing to render loads no rendering library.
parse = lazy_module("site_builder.parse")  # PyYAML
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
    of the site is still written; without it, every error found is raised at once (a
    `BuildErrors`) and nothing is written. `katex`, a renderer that outlives the build (`serve`
    keeps one, so that V8 starts once), is used instead of a new one. A cache file found missing
    or damaged on the way is forgotten, with everything made from it, and the site is built
    again."""
    report = BuildReport()
    with report.stage("config"):
        config = config if isinstance(config, SiteConfig) else load_config(config)
        check_out(config)
    try:
        return _build(report, config, keep_going, index_search, katex)
    except DamagedBlob:
        again = BuildReport(seconds=dict(report.seconds))
        return _build(again, config, keep_going, index_search, katex, heal=True)


def _build(
    report: BuildReport,
    config: SiteConfig,
    keep_going: bool,
    index_search: bool,
    katex: "tex.KatexRenderer | None",
    heal: bool = False,
) -> BuildReport:
    # Pages left out, with why: with --keep-going the rest is written, else every error found
    # is reported before anything is (see `_stop_on_errors`).
    skipped = report.skipped
    cache = Cache.load(config.cache_dir, builder_digest())
    if heal:
        cache.heal()
    with report.stage("sources"):
        inputs = read_inputs(config, find_sources(config, report.warnings, skipped), skipped)
        # Translation progress, from the catalogs: which languages are drafts (see `progress`)
        tally = progress.build_progress(config, inputs, report.warnings)
        config = progress.with_drafts(config, tally)
    changed = uncached(cache, config, inputs)  # parsed and translated: what the cache lacks
    modules = parse_sources(changed, report, skipped)
    translated = translate_pages(config, changed, modules, report, skipped)
    metas = cache.kept("meta", [item.key for item in inputs], page_metas(translated))
    python = python_keys(config, [item for item in inputs if item.key in metas])
    found = symbols(config, translated, cache.missing("symbols", python), report, skipped)
    kept_symbols = cache.kept("symbols", python, found)
    inputs = site_inputs(inputs, metas, python, kept_symbols)
    table = SymbolTable(list(kept_symbols.values()))  # names pages may link to
    site = SiteIndex(config, inputs, metas, digest(cache.builder, table.key()), tally)
    ui = {  # read every build: their warnings are reported even when no page is rendered
        lang: translate.ui_translations(lang, config.locale_dir, report.warnings)
        for lang in config.languages
    }
    titles = {  # the site's title in each language
        lang: site_texts.translations(config, lang, report.warnings).get(config.title, "")
        for lang in config.languages[1:]
    }
    renderer = PageRenderer(config, ui.__getitem__, cache.templates_folder(), titles)
    by_render_key = {site.render_key(item): item for item in inputs}
    stale = [by_render_key[key] for key in cache.missing("page", by_render_key)]
    # A page to render whose input did not change (what it shows of other pages did) is parsed
    # and translated now.
    unread = [item for item in stale if item.key not in translated]
    modules = parse_sources(unread, report, skipped, modules)
    translated |= translate_pages(config, unread, modules, report, skipped)
    with search.Indexer(search.kept_indexes(cache.folder)) as indexer:  # stops if the build fails
        # Pagefind indexes each page as it comes out of the page stage, while the next render.
        made = indexer.add if index_search else None
        shared = Shared(site, table, renderer, cache.put)
        # render -> notebook -> page, one source (every language) at a time: `make_pages`
        rendered = render_pages(report, cache, shared, stale, translated, katex, made)
        records = cache.kept("page", by_render_key, rendered)
        pages = {item.url: records[key] for key, item in by_render_key.items() if key in records}
        if report.skipped and not keep_going:  # the site is not checked without its pages
            _stop_on_errors(report.skipped, [p for r in pages.values() for p in r.problems])
        documents = {url: cache.blob(record.search) for url, record in pages.items()}
        if index_search:  # Pagefind makes the index while the pages are checked
            indexer.start_finishing(documents)
        with report.stage("page"):
            outputs = site_outputs(config, site, renderer, pages, cache, report.warnings)
        with report.stage("check"):
            outputs, problems = checked(config, pages, outputs, site.moved)
            if not keep_going:
                _stop_on_errors(report.skipped, problems)
            outputs = site_texts.translate_figures(config, outputs, report.warnings)
        with report.stage("search"):
            index = search.site_index(documents, indexer if index_search else None, cache.folder)
            outputs |= index.files
            report.unindexed = index.unindexed
    for tree in input_trees(config):  # `rm -r` removes the files first: this build read a part
        if not tree.is_dir():
            message = "the folder is gone (removed while the site was built); the site is kept"
            raise BuildError(tree, None, message)
    with report.stage("write"):
        result = write_site(config.out, outputs, link_from=cache.folder)
        cache.save()
    page_warnings = [w for i in inputs if i.url in pages for w in metas[i.key].warnings]
    report.warnings = _sorted_problems(report.warnings + page_warnings + problems)
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


def uncached(cache: Cache, config: SiteConfig, inputs: list[Input]) -> list[Input]:
    """The inputs whose metadata, or (a Python module's) symbols, the cache lacks: new or
    changed pages, which the parse and translate stages make."""
    lacking = set(cache.missing("meta", [item.key for item in inputs]))
    lacking.update(cache.missing("symbols", python_keys(config, inputs)))
    return [item for item in inputs if item.key in lacking]


def parse_sources(
    items: list[Input],
    report: BuildReport,
    skipped: list[BuildError] | None,
    parsed: dict[Path, Module] | None = None,
) -> dict[Path, Module]:
    """Parse stage: the module of each source of `items`, from the bytes the sources stage read
    (once per source, whatever its languages; those in `parsed` are not parsed again), in worker
    processes when there are many. The first problem, in source order, is raised as in a serial
    parse; with a `skipped` list, each is kept there and its source left out."""
    done = dict(parsed or {})
    sources = list({i.source.path: i for i in items if i.source.path not in done}.values())
    if not sources:
        return done
    workers = worker_count(len(sources), fork_safe=not tex.v8_started())
    report.processes = max(report.processes, workers)
    chunk = max(1, len(sources) // (4 * workers))
    with report.stage("parse"):
        results = fork_map(parse_source, None, sources, workers, chunk)
        for item, (module, problem) in zip(sources, results, strict=True):
            if problem:
                fail_or_skip(problem, skipped)
            elif module:
                done[item.source.path] = module
    return done


def parse_source(_: None, item: Input) -> Parsed:
    """One source's module, or its problem (a bug in the parse is one too)."""
    source = item.source
    try:
        return Parsed(parse.parse_source(source.path, source.rel_path, item.data), None)
    except BuildError as error:
        return Parsed(None, error)
    except Exception as error:
        return Parsed(None, internal_error(source.path, error))


def translate_pages(
    config: SiteConfig,
    items: list[Input],
    parsed: dict[Path, Module],
    report: BuildReport,
    skipped: list[BuildError] | None,
) -> dict[str, Translated]:
    """Translate stage: each page's module in its language (see `translate`), by input key. A
    problem is an error, or with a `skipped` list, the page is left out."""
    done: dict[str, Translated] = {}
    if not items:
        return done
    with report.stage("translate"):
        for item in items:
            original = parsed.get(item.source.path)
            if original is None:
                continue
            try:
                module, fallback = translate.translate_module(
                    original, item.lang, config.locale_dir, config.languages[0], item.catalog
                )
            except BuildError as error:
                fail_or_skip(error, skipped)
                continue
            except Exception as error:
                fail_or_skip(internal_error(item.source.path, error), skipped)
                continue
            shows_code = has_code(original)  # the same in every language
            meta = Meta(module.title, module.summary, module.warnings, shows_code)
            done[item.key] = Translated(module, bool(fallback), meta, original)
    return done


def page_metas(pages: dict[str, Translated]) -> dict[str, Meta]:
    """What the site knows of each page (its title, summary and warnings), by input key."""
    return {key: page.meta for key, page in pages.items()}


# ----------------------------------------------------------------------------------- symbols


def python_keys(config: SiteConfig, inputs: list[Input]) -> list[str]:
    """The inputs whose names other pages may link to: the package's modules, first language."""
    first = config.languages[0]
    return [
        i.key
        for i in inputs
        if (i.lang, i.source.tree, i.source.path.suffix) == (first, "package", ".py")
    ]


def symbols(
    config: SiteConfig,
    pages: dict[str, Translated],
    keys: list[str],
    report: BuildReport,
    skipped: list[BuildError] | None,
) -> dict[str, ModuleSymbols]:
    """Symbols stage: the names each Python module of `keys` defines and imports (see `xref`),
    from its parse. A bug is an error naming the module, or with a `skipped` list, its pages are
    left out (see `site_inputs`)."""
    found: dict[str, ModuleSymbols] = {}
    if not keys:
        return found
    with report.stage("symbols"):
        for key in keys:
            if key not in pages:
                continue  # its parse or translation failed
            module = pages[key].source_module
            try:
                found[key] = module_symbols(
                    module, dotted_name(config.source.name, module.rel_path)
                )
            except Exception as error:
                fail_or_skip(internal_error(module.path, error), skipped)
    return found


def site_inputs(
    inputs: list[Input], metas: dict[str, Meta], python: list[str], found: dict[str, ModuleSymbols]
) -> list[Input]:
    """The pages of the site: the inputs with metadata, but every language of a Python module
    without symbols (their stages failed: --keep-going left them out)."""
    without = set(python) - found.keys()
    lost = {i.source.path for i in inputs if i.key in without}
    return [i for i in inputs if i.key in metas and i.source.path not in lost]


# ---------------------------------------------------------------- render, notebook and page


@dataclass
class Shared:
    """What every page of a build shares: the site, its symbols, the page renderer, and
    `keep(bytes) -> digest`, which keeps a page's files (the cache's)."""

    site: SiteIndex
    symbols: SymbolTable
    renderer: PageRenderer
    keep: Callable[[bytes], str]


@dataclass
class SourcePages:
    """One source's pages to make, in each of its languages, with KaTeX (each worker process
    starts its own V8)."""

    items: list[Input]
    pages: list[Translated]
    katex: "tex.KatexRenderer"


def render_pages(
    report: BuildReport,
    cache: Cache,
    shared: Shared,
    items: list[Input],
    pages: dict[str, Translated],
    katex: "tex.KatexRenderer | None" = None,
    made: Callable[[str, Blob], None] | None = None,
) -> dict[str, PageRecord]:
    """The render, notebook and page stages for `items` (whose translated modules are in
    `pages`, by input key; one that is not failed before): their records by render key, made by
    `make_pages` one source at a time (in worker processes when there are many). A page that
    fails is an error, or with --keep-going, left out. KaTeX's results are kept in the cache;
    `katex` (a renderer that outlives this build, as `serve` keeps one) is used instead of a new
    one. `made(url, document)` is handed each page's search document as soon as it is made."""
    by_source: dict[str, list[Input]] = {}
    for item in items:
        if item.key in pages:
            by_source.setdefault(item.source.url, []).append(item)
    if not by_source:
        return {}
    memo_key = tex.KatexRenderer.memo_key()
    if katex is None:  # KaTeX's results kept by earlier builds are not rendered again
        math = tex.KatexRenderer(cache.load_math(memo_key))
    else:
        math = katex
        if not katex.knows(memo_key):
            katex.know(memo_key, cache.load_math(memo_key))
    units = [
        SourcePages(unit, [pages[item.key] for item in unit], math) for unit in by_source.values()
    ]
    workers = worker_count(len(items), fork_safe=not tex.v8_started())
    report.processes = max(report.processes, workers)
    shared.renderer.prepare()
    # One process: the stages' own seconds; worker processes: their wall time, and the stages'
    # seconds summed over the workers.
    stage_seconds = report.seconds if workers < 2 else report.worker_seconds
    started = time.perf_counter()
    done: dict[str, PageRecord] = {}
    new_math: tex.Results = {}
    for unit, result in zip(units, fork_map(make_pages, shared, units, workers), strict=True):
        for stage, spent in result.seconds.items():
            stage_seconds[stage] = stage_seconds.get(stage, 0.0) + spent
        new_math |= result.math
        if result.problem:
            fail_or_skip(result.problem, report.skipped)
            continue
        for item, record in zip(unit.items, result.records, strict=True):
            done[shared.site.render_key(item)] = record
            report.pages_rendered.append(item.url)
            if made:
                made(item.url, cache.blob(record.search))
    if workers > 1:
        report.seconds["render"] = time.perf_counter() - started
    cache.save_math(memo_key, new_math)
    if math is not katex:
        math.close()
    return done


def make_pages(shared: Shared, unit: SourcePages) -> MadePages:
    """render (markdown+math, highlight, cross-references) -> notebook -> page, for one source's
    pages (every language): their records, the seconds per stage, and the math rendered for
    them. A problem, or a bug, comes back as the problem that stopped them."""
    report = BuildReport()
    try:
        records = _make_pages(shared, unit, report)
    except BuildError as error:
        return MadePages([], report.seconds, error, unit.katex.new_results())
    except tex.KatexUnavailable:
        raise  # the installation, not this page: the build stops with its one line
    except Exception as error:
        problem = internal_error(unit.items[0].source.path, error)
        return MadePages([], report.seconds, problem, unit.katex.new_results())
    return MadePages(records, report.seconds, None, unit.katex.new_results())


def _make_pages(shared: Shared, unit: SourcePages, report: BuildReport) -> list[PageRecord]:
    items, pages, site = unit.items, unit.pages, shared.site
    linkers = [PageLinker(shared.symbols, item.source.url, site.moved) for item in items]
    with report.stage("render"):
        rendered = render.render_source(
            pages[0].source_module,
            [page.module for page in pages],
            unit.katex,
            linkers,
            True,  # a TeX error is a problem of its page (see `checked`)
            image_search(site.config, items[0].source.url),
        )
    with report.stage("notebook"):
        notebooks = [
            page_notebook(site, item, page, found)
            for item, page, (_, found) in zip(items, pages, rendered, strict=True)
        ]
    with report.stage("page"):
        return [
            page_record(shared, item, page, done, found, notebook)
            for item, page, (done, found), notebook in zip(
                items, pages, rendered, notebooks, strict=True
            )
        ]


def page_notebook(
    site: SiteIndex, item: Input, page: Translated, found: Commentary
) -> PageNotebook | None:
    """Notebook stage: the page's notebook, the module in the page's language, its links (those
    the markdown stage found) sent where `SiteIndex.notebook_link` says. (A page whose notebook
    is None has none, and no link to one: benchmarks/build_site.py builds that way to measure
    what notebooks cost; so has a page of text only, see `SiteIndex.has_notebook`.)"""
    if not site.has_notebook(item.url):
        return None
    root_package = site.config.source.name if item.source.tree == "package" else None
    source = site.source_path(item.source.url)
    destinations = {found_link.href for found_link in found.links + found.images}
    link = site.notebook_link(item.url)
    book = module_notebook(page.module, link, root_package, source, destinations)
    here, root = notebook_path(item.url), base_path(site.config)
    # A notebook link is written where its page link was (a PO file's line, for a translation).
    written = {link(found_link.href): found_link for found_link in found.links + found.images}
    links = [
        NotebookLink(resolve(here, href, root).path, _where(written.get(href), item, href, line))
        for href, line in book.links
        if not is_external(href)
    ]
    return PageNotebook(book.data, links)


def _where(page_link: Link | None, item: Input, href: str, line: int | None) -> Link:
    if page_link:
        return Link(href, page_link.file, page_link.line)
    return Link(href, str(item.source.path), line)


def page_record(
    shared: Shared,
    item: Input,
    page: Translated,
    rendered: RenderedModule,
    found: Commentary,
    notebook: PageNotebook | None,
) -> PageRecord:
    """Page stage: the page laid out, its files kept, and what the check stage needs of it."""
    page_html = page_layout(shared.renderer, shared.site, item, page, rendered, notebook)
    written = PageLinker(shared.symbols, item.source.url, shared.site.moved).link_href
    links = found.links + _template_links(page_html, found, str(item.source.path), written)
    html_digest = shared.keep(page_html.encode())
    record = PageRecord(
        page.meta, html_digest, ids_in(page_html), links, found.images, found.problems
    )
    title = page.module.title
    parts = search.page_parts(page.module, rendered.words)
    document = search.search_document(item.url, item.lang, title, parts)
    record.search = shared.keep(document)
    if notebook:
        record.notebook, record.notebook_links = shared.keep(notebook.data), notebook.links
    return record


def page_layout(
    renderer: PageRenderer,
    site: SiteIndex,
    item: Input,
    page: Translated,
    rendered: RenderedModule,
    notebook: PageNotebook | None = None,
) -> str:
    """The page's HTML: its context (crumbs, listing, links), laid out."""
    url, lang = item.source.url, item.lang
    contributing = "contributing.html" in site.urls
    prefix = language_prefix(site.config, lang)
    previous, following = site.lesson_links(lang, url)
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
        notebook=url_path(posixpath.basename(notebook_path(item.url))) if notebook else "",
        notebook_name=download_name(url),
        previous=previous,
        next=following,
        source=site.source_path(url),
        source_lines=issues.source_lines(page.source_module),
    )
    return renderer.module_page(context)


def _template_links(
    page_html: str, found: Commentary, page_file: str, written: Callable[[str], str]
) -> list[Link]:
    """Links in the HTML that commentary did not write: they come from the templates.
    `written(href)` is the href the markdown stage wrote for a link of the commentary."""
    extra = Counter(urls_in(page_html))
    extra.subtract(written(link.href) for link in found.links)
    extra.subtract(image.href for image in found.images)
    return [Link(href, page_file) for href, n in sorted(extra.items()) for _ in range(max(n, 0))]


# ------------------------------------------------------------------------- the site's files


def site_outputs(
    config: SiteConfig,
    site: SiteIndex,
    renderer: PageRenderer,
    pages: dict[str, PageRecord],
    cache: Cache,
    warnings: list[BuildError],
) -> dict[str, Blob]:
    """Every file of the site but its images and search index (see `site.site_files`)."""
    files = {url: cache.blob(record.html_digest) for url, record in pages.items()}
    files |= {
        notebook_path(url): cache.blob(record.notebook)
        for url, record in pages.items()
        if record.notebook
    }

    made = {}
    if cache.missing("whole site", [site.extras_key]):  # the 404 page, the sitemap, ...
        extras = whole_site_files(config, site, renderer)
        made[site.extras_key] = StoredFiles({rel: cache.put(data) for rel, data in extras.items()})
    stored = cache.kept("whole site", [site.extras_key], made)[site.extras_key]
    whole = {rel: cache.blob(content_digest) for rel, content_digest in stored.digests.items()}
    return site_files(config, files, cache.file_blob, docs_assets(config, warnings), whole)


def checked(
    config: SiteConfig,
    pages: dict[str, PageRecord],
    outputs: dict[str, Blob],
    moved: dict[str, str] | None = None,
) -> tuple[dict[str, Blob], list[BuildError]]:
    """Check stage: the site's files with the images its pages show, and its problems (see
    `links.check_site`; `moved`: `SiteIndex.moved`)."""
    images = page_images(config, {url: r.images for url, r in pages.items()}, outputs)
    outputs = outputs | images.files
    outputs |= linked_files(config, {url: r.links for url, r in pages.items()}, outputs)
    found = check_site(pages, outputs, base_path(config), moved)
    problems = _sorted_problems(images.problems + found)
    return outputs, problems


def _stop_on_errors(skipped: list[BuildError], problems: list[BuildError]) -> None:
    """Without --keep-going, any error stops the build before it writes, reporting them all.
    When pages were left out, links to them would read as broken: those wait for the next
    build."""
    if skipped:
        problems = [p for p in problems if not p.message.startswith("broken link")]
    errors = _sorted_problems(skipped + problems)
    if errors:
        raise BuildErrors(errors)
