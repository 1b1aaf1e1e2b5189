"""Render stage: a page's commentary to HTML (Markdown with KaTeX math) and its code to highlighted
HTML, with the names in both linked to where the site defines them (cross-references are made on
the tokens, by the linker each page gets from `xref`).

A source is rendered for all its languages at once: the code is the same in each, so it is
highlighted once, and the math of all their texts goes to KaTeX in one call. The modules are not
changed: the HTML comes back as `RenderedModule`s.
"""

import html

from .highlight import highlight_module
from .markdown import (
    TexBuildError,
    parse_markdown,
    plain_text,
    render_markdown,
    render_parsed,
    repeated_formulas,
)
from .model import (
    Commentary,
    ImageSearch,
    Link,
    Module,
    RenderedCommentary,
    RenderedModule,
    RenderedPage,
)
from .tex import KatexRenderer
from .xref import definition_anchors


def render_source(
    source: Module,
    modules: list[Module],
    katex: KatexRenderer,
    linkers: list,
    keep_going: bool = False,
    images: ImageSearch | None = None,
) -> list[RenderedPage]:
    """Each of `modules` (the translations of `source`, one per language) rendered, and what
    its commentary holds. `linkers[i]` links the names of `modules[i]` (None: no links). Their
    images are found where `images` says (see `images.find_image`; None: next to the source)."""
    commentary = render_commentary(modules, katex, linkers, keep_going, images)
    linker = linkers[0] if linkers else None
    code_html = highlight_module(source.source, source.sections, linker, definition_anchors(source))
    code_text = {
        s.id: "\n".join(text for _, text in s.code if text.strip()) for s in source.sections
    }
    return [
        RenderedPage(
            RenderedModule(
                module,
                done.intro_html,
                done.docs_html,
                code_html,
                _words(module, done.words, code_text),
                done.heading_html,
            ),
            done.found,
        )
        for module, done in zip(modules, commentary, strict=True)
    ]


def _words(module: Module, docs: dict[str, str], code: dict[str, str]) -> dict[str, str]:
    """The words of the introduction and of each section: its commentary's, then its code."""
    keys = ("intro", *(section.id for section in module.sections))
    return {key: "\n".join(filter(None, (docs.get(key, ""), code.get(key, "")))) for key in keys}


def render_commentary(
    modules: list[Module],
    katex: KatexRenderer,
    linkers: list | None = None,
    keep_going: bool = False,
    images: ImageSearch | None = None,
) -> list[RenderedCommentary]:
    """Each module's commentary rendered, all their math in one call into KaTeX.
    A TeX error is an error, or with `keep_going` a problem shown in place of the commentary it
    broke. Images are found where `images` says (None: next to each module's file)."""
    linkers = linkers or [None] * len(modules)
    blocks = []  # (module number, section id or "intro", text, line, parsed)
    for number, module in enumerate(modules):
        texts = [("intro", module.intro, module.intro_line)]
        texts += [(s.id, s.docs, s.docs_line) for s in module.sections]
        for key, text, line in texts:
            if text.strip():
                origin = module.origins.get(key)
                parsed = parse_markdown(text, module.path, line, origin, images)
                blocks.append((number, key, text, line, parsed))
    katex.render_many([math for *_, parsed in blocks for math in parsed.math])
    repeated = [
        repeated_formulas([parsed for n, *_, parsed in blocks if n == number], katex)
        for number in range(len(modules))
    ]
    intros = [""] * len(modules)
    docs_html: list[dict[str, str]] = [{} for _ in modules]
    headings: list[str | None] = [None] * len(modules)
    found_in = [Commentary() for _ in modules]
    words: list[dict[str, str]] = [{} for _ in modules]
    for number, key, text, line, parsed in blocks:
        module, names, found = modules[number], linkers[number], found_in[number]
        words[number][key] = plain_text(parsed)
        notice = ""
        try:
            rendered = render_parsed(parsed, katex, names, repeated[number], key == "intro")
        except TexBuildError as error:
            if not keep_going:
                raise
            found.problems.append(error)
            notice = f'<p class="build-error">{html.escape(str(error))}</p>'
            escaped = text.replace("$", "\\$")
            rendered = render_markdown(
                escaped, module.path, line, katex, parsed.origin, names, images=images
            )
        where = str(parsed.origin.path if parsed.origin else module.path)  # a translation: its PO
        found.links += [Link(link.href, where, link.line) for link in rendered.links]
        found.images += [Link(image.href, where, image.line) for image in rendered.images]
        if key == "intro":
            intros[number], headings[number] = notice + rendered.html, rendered.heading
        else:
            docs_html[number][key] = notice + rendered.html
    return [
        RenderedCommentary(intros[n], headings[n], docs_html[n], words[n], found_in[n])
        for n in range(len(modules))
    ]
