"""Page stage: a rendered Module -> a full HTML page (Jinja2 templates), plus the sitemap.

Everything a template shows is computed here as plain data (crumbs, alternates, listing), so the
templates only lay it out. UI strings go through `_()`, the page language's gettext. A translation
is untrusted text like any other: `_()` returns a plain string, which autoescape escapes in HTML
and `tojson` encodes in JSON (Jinja's own gettext marks translations as safe HTML, so it is not
used, nor `{% trans %}`). Nor is a translation a format string: `%` in it is text.
"""

import functools
import gettext
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape as xml_escape  # its entities are XML's too
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from markupsafe import Markup
from markupsafe import escape as escape_html
from rcssmin import cssmin

from .config import SiteConfig
from .files import Untrusted, atomic_write, open_trusted, untrusted
from .issues import report_links
from .lazy import lazy_module
from .model import BuildError, RenderedModule, Section
from .paths import base_path, language_prefix, public_url, relative_href

if TYPE_CHECKING:
    import babel
    import jinja2

    from . import highlight
else:  # only pages being rendered need these
    babel = lazy_module("babel")
    jinja2 = lazy_module("jinja2")
    highlight = lazy_module("site_builder.highlight")

TEMPLATES_DIR = Path(__file__).parent / "templates"
TRANSLATIONS_PAGE = "translations.html"  # in every language, made from the catalogs
STATIC_DIR = Path(__file__).parent / "static"
# Strings and comments in CSS (one capturing group, for re.split); what lies between is code.


@dataclass
class Crumb:
    label: str | None  # None: the home page ("Home" in the page's language)
    href: str | None = None


@dataclass
class ListingItem:
    title: str
    summary: str
    href: str


@dataclass
class ListingGroup:
    title: str | None  # None: pages at the site root
    href: str | None
    summary: str = ""
    items: list[ListingItem] = field(default_factory=list)


class SectionHtml(NamedTuple):
    """A section as page.html lays it out: `copyable` code (two lines or more) gets a Copy
    button, and `sticky` code (short enough to fit a screen) stays in view beside a long note."""

    section: Section
    docs_html: str
    code_html: str
    copyable: bool = False
    sticky: bool = False


@dataclass
class TocEntry:
    """A line of the table of contents: `html` is trusted markup (a heading's or a name)."""

    html: Markup
    href: str
    level: int  # 1 or 2


# Code this many lines long or shorter stays in view while its note is read (sticky): it fits
# a laptop's screen even with a few lines wrapped.
STICKY_LINES = 24
# A page gets a table of contents once it has this many headings and definitions.
TOC_MIN_ENTRIES = 4
_HEADING = re.compile(r"<h([23])(\s[^>]*)?>(.*?)</h\1>", re.S)


class LanguageRow(NamedTuple):
    """A language's line on the translations page (`percent` of the English words)."""

    lang: str
    name: str
    href: str  # its home page
    percent: str
    words: str  # "translated / all"
    outdated: str  # words whose translation is fuzzy
    draft: bool


class PageCell(NamedTuple):
    lang: str
    percent: str
    href: str | None  # the page in that language


class PageRow(NamedTuple):
    title: str
    cells: list[PageCell]
    kind: str = "page"  # or "interface" (the buttons and menus), "figures" (title, figures)


@dataclass
class TranslationsTable:
    languages: list[LanguageRow]
    pages: list[PageRow]
    contributing_href: str | None = None
    page_languages: list[LanguageRow] = field(default_factory=list)  # the columns of `pages`


@dataclass
class PageContext:
    """One page in one language, ready to lay out; `url` is its site path (`zh/a/x.html`)."""

    url: str
    lang: str
    page: RenderedModule
    crumbs: list[Crumb]
    view_code: str = ""
    fallback: bool = False
    contributing_href: str | None = None
    listing: list[ListingGroup] = field(default_factory=list)
    notebook: str = ""  # href of the page's notebook
    notebook_name: str = ""  # the file name a download of it gets
    previous: Crumb | None = None  # the page before this one in the lesson
    next: Crumb | None = None  # the page after it
    source: str = ""  # the page's source file, relative to the project root ("": none)
    source_lines: dict[str, tuple[int, int]] = field(default_factory=dict)  # by section id


@functools.cache
def language_name(lang: str) -> str:
    """A language's name in that language, for the switcher (CLDR's, through Babel): 日本語,
    中文, Français; the code itself if Babel does not know it."""
    try:
        name = babel.Locale.parse(lang.replace("-", "_")).get_display_name() or lang
    except (babel.UnknownLocaleError, ValueError):
        return lang
    return name[:1].upper() + name[1:]


@functools.cache
def _own_bytecode_cache() -> "Callable[[Path], jinja2.BytecodeCache]":
    """A Jinja bytecode cache in a folder that loads only compiled templates (code, which Jinja
    runs) that are this user's alone: the folder is refused with one line, and a file that is not
    (see `files.open_trusted`) is left, so the template is compiled again and the file replaced.
    Each file is checked and read through one open descriptor. (Built on Jinja's public
    `BytecodeCache`: its `FileSystemBytecodeCache` opens the file itself, after any check.)"""

    class OwnBytecodeCache(jinja2.BytecodeCache):
        def __init__(self, folder: Path):
            if problem := untrusted(folder):
                message = f"{problem}; refusing to load compiled templates from it (remove it)"
                raise BuildError(folder, None, message)
            self.folder = folder

        def path(self, bucket: "jinja2.bccache.Bucket") -> Path:
            return self.folder / f"{bucket.key}.jinja"

        def load_bytecode(self, bucket: "jinja2.bccache.Bucket") -> None:
            try:
                with open_trusted(self.path(bucket)) as file:
                    bucket.load_bytecode(file)
            except (OSError, Untrusted):  # missing or not to be trusted: compiled again
                pass

        def dump_bytecode(self, bucket: "jinja2.bccache.Bucket") -> None:
            code = io.BytesIO()
            bucket.write_bytecode(code)
            atomic_write(self.path(bucket), code.getvalue(), private=True)

        def clear(self) -> None:
            for path in self.folder.glob("*.jinja"):
                path.unlink(missing_ok=True)

    return OwnBytecodeCache


class PageRenderer:
    """Lays out pages with one Jinja environment per language (each with its UI translations).
    In `compiled_templates` (a folder), Jinja keeps the templates compiled across builds."""

    def __init__(
        self,
        config: SiteConfig,
        ui_translations: Callable[[str], gettext.NullTranslations] | None = None,
        compiled_templates: Path | None = None,
        titles: dict[str, str] | None = None,
    ):
        self.config = config
        self.titles = titles or {}  # the site's title in a language (`site_texts`)
        self.ui_translations = ui_translations or (lambda lang: gettext.NullTranslations())
        self.compiled_templates = compiled_templates
        self._environments: dict[str, jinja2.Environment] = {}

    def environment(self, lang: str) -> "jinja2.Environment":
        if lang not in self._environments:
            bytecode = None
            if self.compiled_templates is not None:
                self.compiled_templates.mkdir(mode=0o700, parents=True, exist_ok=True)
                bytecode = _own_bytecode_cache()(self.compiled_templates)
            env = jinja2.Environment(
                # the author's templates first (`overrides`), as MkDocs' custom_dir
                loader=jinja2.FileSystemLoader(
                    [*([self.config.overrides] if self.config.overrides else []), TEMPLATES_DIR]
                ),
                autoescape=True,
                undefined=jinja2.StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                bytecode_cache=bytecode,
            )
            env.globals["_"] = self.ui_translations(lang).gettext  # plain text, see above
            self._environments[lang] = env
        return self._environments[lang]

    def prepare(self) -> None:
        """Load every language's templates now (worker processes forked afterwards share them)."""
        for lang in self.config.languages:
            self.environment(lang).get_template("page.html")

    def site_title(self, lang: str) -> str:
        return self.titles.get(lang) or self.config.title

    def _common(self, url: str, lang: str, root: str) -> dict:
        """Variables every template uses; `root` is the prefix that reaches the site root."""
        config, prefix = self.config, language_prefix(self.config, lang)
        page = url[len(prefix) :]
        draft = lang in config.drafts
        languages = []
        for other in config.languages:
            if other in config.drafts and other != lang:  # a draft is not offered to readers
                continue
            target = language_prefix(config, other) + page
            languages.append(
                {
                    "lang": other,
                    "name": language_name(other),
                    "href": relative_href(url, target),
                    "url": public_url(config, target) or relative_href(url, target),
                }
            )
        return {
            "lang": lang,
            "root": root,
            "logo": f"{root}static/{config.logo.name}" if config.logo else "",
            "favicon": f"{root}static/{config.favicon.name}" if config.favicon else "",
            "site_title": self.site_title(lang),
            "home_href": relative_href(url, prefix + "index.html"),
            "languages": languages,
            "alternates": languages if len(languages) > 1 and not draft else [],
            "canonical": public_url(config, url),
            "draft": draft,
            "translations_href": (
                relative_href(url, prefix + TRANSLATIONS_PAGE) if len(config.languages) > 1 else ""
            ),
        }

    def module_page(self, ctx: PageContext) -> str:
        depth = ctx.url.count("/")
        module = ctx.page.module
        heading = ctx.page.heading_html
        heading = Markup(heading) if heading is not None else escape_html(module.title)
        sections = [section_html(s, ctx.page) for s in module.sections]
        intro_html, intro_toc = heading_ids(ctx.page.intro_html, "intro")
        # The introduction sits beside the page's first code when that code has no note of its
        # own (the imports, usually), so the first screen shows code next to the opening words.
        lead = None
        if intro_html and sections and not sections[0].docs_html and sections[0].code_html:
            lead, sections = sections[0], sections[1:]
        toc = intro_toc + contents(sections)
        is_home = ctx.url == language_prefix(self.config, ctx.lang) + "index.html"
        intro_after_listing = ""
        if ctx.listing:  # the contents come after the opening, before the intro's first heading
            split = intro_html.find("<h2")
            if split > 0:
                intro_html, intro_after_listing = intro_html[:split], intro_html[split:]
        reports = report_links(self.config, ctx.url, ctx.lang, module, ctx.source, ctx.source_lines)
        variables = self._common(ctx.url, ctx.lang, "../" * depth)
        variables.update(
            reports=reports,
            page_title=self.site_title(ctx.lang)
            if is_home
            else f"{module.title} · {self.site_title(ctx.lang)}",
            description=module.summary,
            crumbs=ctx.crumbs,
            sections=sections,
            heading=heading,
            intro_html=intro_html,
            lead=lead,
            toc=toc if len(toc) >= TOC_MIN_ENTRIES else [],
            previous=ctx.previous,
            next=ctx.next,
            intro_after_listing=intro_after_listing,
            view_code=ctx.view_code,
            fallback=ctx.fallback,
            contributing_href=ctx.contributing_href,
            listing=ctx.listing,
            notebook=ctx.notebook,
            notebook_name=ctx.notebook_name,
        )
        return self.environment(ctx.lang).get_template("page.html").render(variables)

    def not_found_page(self) -> str:
        """The site-wide 404 page: links are root-absolute since it is served at any path."""
        root = base_path(self.config)
        lang = self.config.languages[0]
        variables = self._common("404.html", lang, root)
        variables.update(
            page_title=self.config.title,
            description="",
            crumbs=[Crumb(None, root)],
            view_code="",
            home_href=root,
            languages=[],
            alternates=[],
            canonical="",
            draft=False,
            translations_href=root + TRANSLATIONS_PAGE if len(self.config.languages) > 1 else "",
        )
        return self.environment(lang).get_template("404.html").render(variables)

    def translations_page(self, url: str, lang: str, table: "TranslationsTable") -> str:
        """The site's translation progress (`progress`), laid out in `lang`."""
        variables = self._common(url, lang, "../" * url.count("/"))
        title = self.ui_translations(lang).gettext("Translations")
        variables.update(
            page_title=f"{title} · {self.site_title(lang)}",
            description="",
            crumbs=[Crumb(None, variables["home_href"]), Crumb(title)],
            view_code="",
            table=table,
        )
        return self.environment(lang).get_template("translations.html").render(variables)


def section_html(section: Section, page: RenderedModule) -> SectionHtml:
    """A section's HTML, its code lines marked with their indentation (`--i`, in characters) so
    that a wrapped line hangs below its own start."""
    code_html = page.code_html.get(section.id, "")
    for number, text in section.code:
        indent = len(text.expandtabs()) - len(text.expandtabs().lstrip(" "))
        if indent and text.strip():
            line = f'<span class="line" id="L{number}" data-ln="{number}">'
            code_html = code_html.replace(line, f'{line[:-1]} style="--i:{indent}">', 1)
    lines = sum(1 for _, text in section.code if text.strip())
    return SectionHtml(
        section,
        page.docs_html.get(section.id, ""),
        code_html,
        copyable=lines >= 2,
        sticky=0 < len(section.code) <= STICKY_LINES,
    )


class _TextOnly(HTMLParser):
    """The text a reader sees in a fragment: hidden parts (KaTeX's HTML, which repeats its
    MathML) are left out."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.hidden = 0  # depth inside an aria-hidden element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.hidden or ("aria-hidden", "true") in attrs:
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.text.append(data)


def plain_text(fragment: str) -> str:
    parser = _TextOnly()
    parser.feed(fragment)
    parser.close()
    return " ".join("".join(parser.text).split())


def heading_ids(html: str, prefix: str) -> tuple[str, list[TocEntry]]:
    """`html` with an id on each h2 and h3 that has none (`prefix-1`, ...), and their entries
    for the table of contents."""
    entries: list[TocEntry] = []

    def mark(match: re.Match) -> str:
        level, attrs, inner = match.group(1), match.group(2) or "", match.group(3)
        found = re.search(r'\sid="([^"]+)"', attrs)
        anchor = found.group(1) if found else f"{prefix}-{len(entries) + 1}"
        text = plain_text(inner)
        entries.append(TocEntry(escape_html(text), "#" + anchor, int(level) - 1))
        if found:
            return match.group(0)
        return f'<h{level} id="{anchor}"{attrs}>{inner}</h{level}>'

    return _HEADING.sub(mark, html), entries


def contents(sections: list[SectionHtml]) -> list[TocEntry]:
    """Table of contents entries: each section's headings, and the page's top-level classes and
    functions whose notes have no heading of their own."""
    entries: list[TocEntry] = []
    nested = False  # a definition after a heading belongs under it
    for section, docs_html, *_ in sections:
        headings = list(_HEADING.finditer(docs_html))
        for heading in headings:
            text = escape_html(plain_text(heading.group(3)))
            entries.append(TocEntry(text, "#" + section.id, int(heading.group(1)) - 1))
            nested = True
        definition = section.kind == "docstring" and section.scope and "." not in section.scope
        definition = definition and not section.scope.startswith("_")
        if definition and not headings:
            html = Markup("<code>{}</code>").format(section.scope)
            entries.append(TocEntry(html, "#" + section.id, 2 if nested else 1))
    return entries


def stylesheet(style_light: str, style_dark: str, extra: Path | None = None) -> str:
    """The site's one stylesheet: static/site.css, then the code colours of both Pygments
    styles (one render-blocking request; KaTeX's CSS is loaded apart, see base.html), then the
    author's `extra` CSS (an overrides folder's extra.css) as it is, so its rules win."""
    site_css = (STATIC_DIR / "site.css").read_text(encoding="utf-8")
    own = extra.read_text(encoding="utf-8") if extra and extra.is_file() else ""
    return (
        cssmin(site_css)
        + "\n"
        + cssmin(highlight.pygments_css(style_light, style_dark))
        + "\n"
        + own
    )


def sitemap_xml(config: SiteConfig, pages: list[str]) -> str:
    """Every page in every published language (drafts are not listed), each with hreflang
    alternates (`pages` are source-language site paths)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        ' xmlns:xhtml="http://www.w3.org/1999/xhtml">',
    ]
    for page in sorted(pages):
        variants = [
            (lang, language_prefix(config, lang) + page) for lang in config.published_languages
        ]
        for _, path in variants:
            lines.append(f"<url><loc>{xml_escape(public_url(config, path) or path)}</loc>")
            if len(variants) > 1:
                for lang, other in variants:
                    href = f'"{xml_escape(public_url(config, other) or other)}"'
                    lines.append(f'  <xhtml:link rel="alternate" hreflang="{lang}" href={href}/>')
            lines.append("</url>")
    lines.append("</urlset>")
    return "\n".join(lines) + "\n"
