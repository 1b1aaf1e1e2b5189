"""Check stage: every internal link and `#anchor` must land on a file or an id of the site, and
every link of a notebook on a notebook. A link to a page's source file (`layer.py`) is to the
page (see `paths.source_link_to_page`)."""

import functools
import html
import posixpath
import re
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from .files import Blob
from .model import BuildError, Link, PageRecord
from .paths import source_link_to_page

_ID = re.compile(r"""\sid\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_URL_ATTR = re.compile(r"""\s(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


class Target(NamedTuple):
    """Where a link lands: a site path (None when it leaves the site) and an anchor ("" if none)."""

    path: str | None
    anchor: str


class BrokenLink(NamedTuple):
    link: Link
    message: str


@dataclass
class PageLinks:
    """What the checker needs of one page: its ids and the links it holds."""

    ids: set[str] = field(default_factory=set)
    links: list[Link] = field(default_factory=list)


def ids_in(page_html: str) -> set[str]:
    return {html.unescape(a or b) for a, b in _ID.findall(page_html)}


def urls_in(page_html: str) -> list[str]:
    """Every href and src in a page (entities decoded)."""
    return [html.unescape(a or b) for a, b in _URL_ATTR.findall(page_html)]


def is_external(href: str) -> bool:
    return bool(_SCHEME.match(href)) or href.startswith("//")


@functools.lru_cache(maxsize=1 << 16)
def resolve(page: str, href: str, base_path: str = "/") -> Target:
    """The site file `href` points to from `page` (site-relative), and its anchor.

    Returns (None, anchor) when the link leaves the site root. `base_path` is the site's path on its
    host (from base_url) so root-absolute links like `/static/x.css` resolve too.
    """
    parts = urlsplit(href)
    path, anchor = unquote(parts.path), unquote(parts.fragment)
    if not path:
        return Target(page, anchor)
    if path.startswith("/"):
        if not path.startswith(base_path):
            return Target(None, anchor)
        joined = path[len(base_path) :]
    else:
        joined = posixpath.join(posixpath.dirname(page), path)
    if joined.startswith("/") or joined.split("/")[0] == "..":
        return Target(None, anchor)
    target = posixpath.normpath(joined) if joined else "."
    if target == ".." or target.startswith("../"):
        return Target(None, anchor)
    if path.endswith("/") or target == ".":
        target = posixpath.join(target, "index.html") if target != "." else "index.html"
    return Target(target, anchor)


def check_links(
    pages: dict[str, PageLinks],
    files: set[str],
    base_path: str = "/",
    moved: dict[str, str] | None = None,
) -> list[BrokenLink]:
    """Broken links, each with its message; `pages` maps a page's site path to its ids and links,
    `files` is every other file the site holds, `moved` the pages not at their source's own path
    (`README.html` -> `index.html`, see `SiteIndex.moved`), where links to them land."""
    broken: list[BrokenLink] = []
    moved = moved or {}
    for page, page_links in pages.items():
        for link in page_links.links:
            if is_external(link.href):
                continue
            target, anchor = resolve(page, source_link_to_page(link.href), base_path)
            target = moved.get(target, target) if target else target
            if target is not None and target not in pages and target + "/index.html" in pages:
                target += "/index.html"
            if target is None or (target not in pages and target not in files):
                message = f"broken link '{link.href}': no page or file at that path"
                broken.append(BrokenLink(link, message))
            elif anchor and target in pages and anchor not in pages[target].ids:
                where = "this page" if target == page else f"'{target}'"
                message = f"broken link '{link.href}': no id '{anchor}' in {where}"
                broken.append(BrokenLink(link, message))
    return broken


def check_site(
    records: dict[str, PageRecord],
    outputs: dict[str, Blob],
    base_path: str,
    moved: dict[str, str] | None = None,
) -> list[BuildError]:
    """The problems of the site about to be written: those its pages' rendering found, broken
    links and anchors, and notebook links that land on no notebook. `records` maps a rendered
    page's site path to what rendering found (`ids`, `links`, `problems`, `notebook_links`);
    other HTML files in `outputs` (made from the site as a whole) are read for theirs."""
    problems = [problem for record in records.values() for problem in record.problems]
    pages = {url: PageLinks(record.ids, record.links) for url, record in records.items()}
    for rel, blob in outputs.items():
        if rel.endswith(".html") and rel not in pages:
            page_html = blob.content().decode()
            pages[rel] = PageLinks(ids_in(page_html), [Link(h, rel) for h in urls_in(page_html)])
    for link, message in check_links(pages, set(outputs) - set(pages), base_path, moved):
        problems.append(BuildError(link.file, link.line, message))
    problems += check_notebook_links(records, outputs, problems)
    return sorted(problems, key=lambda p: (p.path, p.line or 0, p.message))


def check_notebook_links(
    records: dict[str, PageRecord], outputs: dict, page_problems: list[BuildError]
) -> list[BuildError]:
    """Each notebook's links to other notebooks must land on one (their anchors are not checked).
    A link whose page link is already reported broken is not reported again."""
    reported = {(p.path, p.line) for p in page_problems}
    return [
        BuildError(link.file, link.line, f"broken link '{link.href}': no notebook at that path")
        for record in records.values()
        for target, link in record.notebook_links
        if target not in outputs and (link.file, link.line) not in reported
    ]
