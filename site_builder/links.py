"""Link checking: every internal link and `#anchor` must land on a file or an id of the site."""

import html
import posixpath
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

_ID = re.compile(r"""\sid\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_URL_ATTR = re.compile(r"""\s(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


@dataclass
class Link:
    """A link to check, with where it was written (`file:line`, or the page for template links)."""

    href: str
    file: str
    line: int | None = None


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


def resolve(page: str, href: str, base_path: str = "/") -> tuple[str | None, str]:
    """The site file `href` points to from `page` (site-relative), and its anchor.

    Returns (None, anchor) when the link leaves the site root. `base_path` is the site's path on its
    host (from base_url) so root-absolute links like `/static/x.css` resolve too.
    """
    parts = urlsplit(href)
    path, anchor = unquote(parts.path), unquote(parts.fragment)
    if not path:
        return page, anchor
    if path.startswith("/"):
        if not path.startswith(base_path):
            return None, anchor
        joined = path[len(base_path) :]
    else:
        joined = posixpath.join(posixpath.dirname(page), path)
    if joined.startswith("/") or joined.split("/")[0] == "..":
        return None, anchor
    target = posixpath.normpath(joined) if joined else "."
    if target == ".." or target.startswith("../"):
        return None, anchor
    if path.endswith("/") or target == ".":
        target = posixpath.join(target, "index.html") if target != "." else "index.html"
    return target, anchor


def check_links(
    pages: dict[str, PageLinks], files: set[str], base_path: str = "/"
) -> list[tuple[Link, str]]:
    """Broken links as (link, message); `pages` maps a page's site path to its ids and links,
    `files` is every other file the site holds."""
    broken = []
    for page, page_links in pages.items():
        for link in page_links.links:
            if is_external(link.href):
                continue
            target, anchor = resolve(page, link.href, base_path)
            if target is not None and target not in pages and target + "/index.html" in pages:
                target += "/index.html"
            if target is None or (target not in pages and target not in files):
                broken.append((link, f"broken link '{link.href}': no page or file at that path"))
            elif anchor and target in pages and anchor not in pages[target].ids:
                where = "this page" if target == page else f"'{target}'"
                broken.append((link, f"broken link '{link.href}': no id '{anchor}' in {where}"))
    return broken
