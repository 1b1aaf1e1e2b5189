"""Images: where the image a page shows comes from, for the render stage (its size, so the page
keeps its layout while the image loads) and for the check stage (the file the site publishes).
Both ask `find_image`, so the size a page is given is the size of the file it shows.

An image's src resolves, from its page's site path, to a site path (the same in every language);
the file published there is the docs tree's, else the package tree's: the docs tree's files are
published as they are (`sources.docs_assets`), so the site path belongs to them. A file reached
through a link that leaves the package and docs trees is never published, nor measured.
"""

from pathlib import Path, PurePosixPath

from .config import SiteConfig
from .files import Blob
from .links import is_external, resolve
from .model import BuildError, FoundImage, ImageSearch, Link, SiteImages
from .paths import base_path, language_prefix


def image_search(config: SiteConfig, page: str) -> ImageSearch:
    """Where the images of the page at site path `page` (without its language prefix) are found
    in the site: the docs tree, then the package tree."""
    trees = tuple(tree for tree in (config.docs, config.source) if tree)
    return ImageSearch(page, trees, base_path(config))


def beside(path: Path) -> ImageSearch:
    """Where the images of a text read outside a site are found: next to its file `path`."""
    return ImageSearch(path.name, (path.parent.resolve(),))


def find_image(search: ImageSearch, src: str) -> FoundImage:
    """The image `src` of the page `search.page`: the site path it resolves to, and the file
    there in the first of `search.trees` that has one (a file that links out of the trees is
    `outside`, not `path`)."""
    if is_external(src):
        return FoundImage(None)
    target = resolve(search.page, src, search.base).path
    if target is None:
        return FoundImage(None)
    for tree in search.trees:
        if (tree / target).is_file():
            path = (tree / target).resolve()
            if any(path.is_relative_to(inside) for inside in search.trees):
                return FoundImage(target, path)
            return FoundImage(target, outside=path)
    return FoundImage(target)


def page_images(
    config: SiteConfig, images: dict[str, list[Link]], outputs: dict[str, Blob]
) -> SiteImages:
    """Check stage: the files of the images pages show (`images`: a page's site path -> its
    images) that are not among the site's `outputs` already, and the problems of those that
    cannot be published."""
    found: dict[str, Blob] = {}
    problems: list[BuildError] = []
    for url, shown in images.items():
        prefix, page = _language_free(config, url)
        for image in shown:
            problem = _add_image(config, prefix, page, image, outputs, found)
            if problem:
                problems.append(problem)
    return SiteImages(found, problems)


# Files a page may link to that are page sources: a link to one is to its page, never a copy.
_PAGE_SOURCES = {".py", ".md", ".html", ".ipynb"}


def linked_files(
    config: SiteConfig, links: dict[str, list[Link]], outputs: dict[str, Blob]
) -> dict[str, Blob]:
    """Check stage: the files pages link to (`links`: a page's site path -> its links) that the
    site does not render, a PDF next to a page say, found as images are (see `find_image`) and
    not among `outputs` already: published as they are. A link to anything else is left to the
    link check."""
    found: dict[str, Blob] = {}
    for url, page_links in links.items():
        prefix, page = _language_free(config, url)
        search = image_search(config, page)
        for link in page_links:
            if is_external(link.href):
                continue
            # Most links go to pages and anchors: those need no look at the disk.
            target = resolve(page, link.href, search.base).path
            if (
                target is None
                or prefix + target in outputs
                or PurePosixPath(target).suffix.lower() in _PAGE_SOURCES
            ):
                continue
            source = find_image(search, link.href)
            if source.target is None or source.path is None:
                continue
            target = prefix + source.target
            if source.path.suffix.lower() not in _PAGE_SOURCES and target not in outputs:
                found[target] = Blob.of_file(source.path)
    return found


def _language_free(config: SiteConfig, url: str) -> tuple[str, str]:
    """A page's site path as its language prefix and the path without it."""
    for lang in config.languages[1:]:
        prefix = language_prefix(config, lang)
        if url.startswith(prefix):
            return prefix, url[len(prefix) :]
    return "", url


def _add_image(
    config: SiteConfig,
    prefix: str,
    page: str,
    image: Link,
    outputs: dict[str, Blob],
    found: dict[str, Blob],
) -> BuildError | None:
    if is_external(image.href):
        return None
    source = find_image(image_search(config, page), image.href)
    if source.target is None:
        return BuildError(image.file, image.line, f"missing image '{image.href}'")
    target = prefix + source.target
    if target in outputs or target in found:
        return None
    if source.outside:
        message = f"image '{image.href}' links outside the source tree (to {source.outside})"
        return BuildError(image.file, image.line, message)
    if source.path is None:
        return BuildError(image.file, image.line, f"missing image '{image.href}'")
    found[target] = Blob.of_file(source.path)
    return None
