"""Render stage: a page's commentary to HTML (Markdown and KaTeX math) and its code to highlighted
HTML, with names linked to where the site defines them.

A source is rendered for all its languages at once: the code is the same in each, so it is
highlighted once, and the math of all its texts goes to KaTeX in one call.
"""

import dataclasses
import html
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from .highlight import highlight_module
from .links import Link
from .markdown import parse_markdown, render_markdown, render_parsed
from .model import BuildError
from .tex import render_tex_many


@dataclass
class Commentary:
    links: list[Link] = field(default_factory=list)
    images: list[Link] = field(default_factory=list)
    problems: list[BuildError] = field(default_factory=list)


def render_commentary(pages: list, keep_going: bool, docs: Path | None = None) -> list[Commentary]:
    """Markdown and math for the intro and each section of each page, all their math in one call
    into KaTeX; TeX errors become problems when keep_going, shown in place of the commentary they
    broke. Images not next to their page are looked for at the page's place in `docs`."""
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


def highlight_sources(pages: list) -> None:
    """Highlight each source once and share the code HTML with its translations (same ids)."""
    if not pages:
        return
    done: dict[int, dict[str, str]] = {}
    for page in pages:
        original = page.source_module
        if id(original) not in done:
            sections = [dataclasses.replace(s) for s in original.sections]
            highlight_module(original.source, sections)
            done[id(original)] = {s.id: s.code_html for s in sections}
        for section in page.module.sections:
            section.code_html = done[id(original)].get(section.id, "")
