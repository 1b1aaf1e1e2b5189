"""Where a source goes: one place maps a source file to its page URL, catalog and dotted name.

A source is named by its path relative to its tree (the package or the docs folder), with `/`:

| source              | page URL          | catalog stem | dotted name (package `pkg`) |
| ------------------- | ----------------- | ------------ | --------------------------- |
| `a/__init__.py`     | `a/index.html`    | `a/index`    | `pkg.a`                     |
| `a/x.py`            | `a/x.html`        | `a/x`        | `pkg.a.x`                   |
| `a/readme.md`       | `a/readme.html`   | `a/readme`   |                             |

A page's notebook lies next to it (`a/x.ipynb`), and a page in a language other than the first is
under `<lang>/`.

It is also the one home of URLs: a link from one site file to another (`relative_href`, with an
anchor `anchor_href`), a site file's public URL, and the site's path on its host. A site path is
written percent-encoded in a URL, so that a file named `a#b.py` or `100%.md` is linked as
`a%23b.html` and `100%25.html`.
"""

import functools
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from .config import SiteConfig

PAGE_SUFFIXES = (".py", ".md")


def page_stem(rel_path: str) -> str:
    """`a/__init__.py` -> `a/index`, `a/x.py` -> `a/x`, `a/notes.md` -> `a/notes`."""
    rel_path = rel_path.replace("\\", "/")
    folder, name = posixpath.split(rel_path)
    stem, suffix = posixpath.splitext(name)
    if not stem or suffix not in PAGE_SUFFIXES:
        raise ValueError(f"not a page source: {rel_path!r}")
    return posixpath.join(folder, "index" if name == "__init__.py" else stem)


def page_url(rel_path: str) -> str:
    """The page's site path: `a/__init__.py` -> `a/index.html`."""
    return page_stem(rel_path) + ".html"


def source_link_to_page(href: str) -> str:
    """A link to a page's source file as a link to the page: `layer.py#Layer` ->
    `layer.html#Layer`, `../a/__init__.py` -> `../a/index.html`; any other link as it is."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path.endswith(PAGE_SUFFIXES):
        return href
    try:
        path = page_url(parts.path)
    except ValueError:  # `.py` alone: no stem
        return href
    return urlunsplit(("", "", path, parts.query, parts.fragment))


def catalog_path(locale_dir: Path, lang: str, rel_path: str) -> Path:
    """The page's PO file for `lang`: `<locale_dir>/<lang>/LC_MESSAGES/<stem>.po`."""
    return Path(locale_dir) / lang / "LC_MESSAGES" / f"{page_stem(rel_path)}.po"


def dotted_name(package: str, rel_path: str) -> str:
    """The module's import name: `a/__init__.py` in package `pkg` -> `pkg.a`."""
    parts = [package, *rel_path.removesuffix(".py").split("/")]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def notebook_path(url: str) -> str:
    """`a/x.html` -> `a/x.ipynb`: a page's notebook lies next to it."""
    return url.removesuffix(".html") + ".ipynb"


def download_name(url: str) -> str:
    """The file name a download of the page's notebook gets: the folder's name for
    `a/index.html`, else the page's."""
    folder, name = posixpath.split(url)
    stem = name.removesuffix(".html")
    if stem == "index" and folder:
        stem = posixpath.basename(folder)
    return stem + ".ipynb"


def language_prefix(config: "SiteConfig", lang: str) -> str:
    """Where a language's pages lie: the first language at the root, the others under `<lang>/`."""
    return "" if lang == config.languages[0] else f"{lang}/"


# Left as they are in a URL path (RFC 3986), but for `:` (read as a scheme at a relative link's
# start) and the quote and brackets (which end a link in Markdown and HTML written by hand).
_PATH_SAFE = "/!$&*+,;=@~"


def url_path(site_path: str) -> str:
    """A site path as a URL writes it, percent-encoded (`a#b.html` -> `a%23b.html`)."""
    return quote(site_path, safe=_PATH_SAFE)


@functools.lru_cache(maxsize=1 << 16)
def relative_href(from_page: str, to_path: str) -> str:
    """Link from one site file to another, relative so the site works under any prefix and from
    file:// (index pages are named, never `dir/`), percent-encoded. Memoized: a site asks for
    the same few thousand pairs again and again."""
    start = posixpath.dirname(from_page) or "."
    return url_path(posixpath.relpath(to_path, start))


def anchor_href(from_page: str, to_page: str, anchor: str) -> str:
    """Link from a page to an id on a page (`#id` on the same page)."""
    fragment = "#" + quote(anchor, safe="")
    return fragment if to_page == from_page else relative_href(from_page, to_page) + fragment


def base_path(config: "SiteConfig") -> str:
    """The site's path on its host, from its base_url (`/` without one)."""
    return urlsplit(config.base_url).path or "/"


def public_url(config: "SiteConfig", site_path: str) -> str:
    """Absolute URL of a site file (directory form for index pages); "" without a base_url."""
    if not config.base_url:
        return ""
    path = site_path[: -len("index.html")] if site_path.endswith("index.html") else site_path
    return config.base_url + url_path(path)
