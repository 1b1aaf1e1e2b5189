"""Images: where the image a page shows is found, for the render stage (its size, so the page
keeps its layout while the image loads) and for the check stage (the file the site publishes).

An image is looked for next to the page's source, then at the page's place in the docs tree
(`docs/<the page's folder>/`); its site path is the same in every language. A file reached through
a link that leaves the package and docs trees is never published.
"""

import posixpath
from pathlib import Path
from typing import NamedTuple

from .config import SiteConfig
from .files import Blob
from .links import is_external, resolve
from .model import BuildError, Link
from .paths import base_path
from .sources import input_trees


def image_folders(docs: Path | None, rel_path: str) -> tuple[Path, ...]:
    """Where a page's images are looked for besides the folder of its source: the page's place
    in the docs tree."""
    return (docs / posixpath.dirname(rel_path),) if docs else ()


class SiteImages(NamedTuple):
    """The image files the site publishes (site path -> blob), and the images not found."""

    files: dict[str, Blob]
    problems: list[BuildError]


def page_images(
    config: SiteConfig, images: dict[str, list[Link]], outputs: dict[str, Blob]
) -> SiteImages:
    """The files of the images pages show (`images`: site path -> the page's images) that are
    not among the site's `outputs` already, found in the package tree, then the docs tree, and
    the problems of those not found there."""
    found: dict[str, Blob] = {}
    problems: list[BuildError] = []
    for url, shown in images.items():
        for image in shown:
            problem = _add_image(config, url, image, outputs, found)
            if problem:
                problems.append(problem)
    return SiteImages(found, problems)


def _add_image(
    config: SiteConfig, url: str, image: Link, outputs: dict[str, Blob], found: dict[str, Blob]
) -> BuildError | None:
    if is_external(image.href):
        return None
    target = resolve(url, image.href, base_path(config)).path
    if target is None:
        return BuildError(image.file, image.line, f"missing image '{image.href}'")
    if target in outputs or target in found:
        return None
    lang_free = target
    for lang in config.languages[1:]:
        if target.startswith(lang + "/"):
            lang_free = target[len(lang) + 1 :]
    for tree in (config.source, config.docs):
        if not (tree and lang_free and (tree / lang_free).is_file()):
            continue
        path = (tree / lang_free).resolve()
        if not any(path.is_relative_to(t) for t in input_trees(config)):
            message = f"image '{image.href}' links outside the source tree (to {path})"
            return BuildError(image.file, image.line, message)
        found[target] = Blob.of_file(path)
        return None
    return BuildError(image.file, image.line, f"missing image '{image.href}'")
