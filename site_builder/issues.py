"""The "Report a problem with this section" links: for each section of a page, a plain link (no
JavaScript) that opens a new issue in the project's tracker (`issues_url`, by default derived
from a GitHub `repo_url`: see `config.new_issue_url`), its title and body filled in with the page,
the section, the language, the source file and the section's lines (and, on a translated page,
the catalog line its text comes from), so that a reader reporting a wrong equation only has to
describe it."""

from urllib.parse import urlencode

from .config import SiteConfig
from .model import Module, Section
from .paths import public_url


def section_lines(section: Section) -> tuple[int, int]:
    """The first and last line of the source that `section` shows: its commentary and code."""
    lines = [number for number, _ in section.code]
    if section.docs.strip():
        lines += [section.docs_line, section.docs_line + section.docs.count("\n")]
    return (min(lines), max(lines)) if lines else (section.docs_line, section.docs_line)


def new_issue(issues_url: str, title: str, body: str) -> str:
    """The URL that opens a new issue with this `title` and `body` (GitHub's query parameters,
    which Gitea and Forgejo share)."""
    separator = "&" if "?" in issues_url else "?"
    return issues_url + separator + urlencode({"title": title, "body": body})


def source_lines(original: Module) -> dict[str, tuple[int, int]]:
    """Each section's lines in the source (`section_lines`), from the module as written (a
    translation's commentary has lines of its own)."""
    return {section.id: section_lines(section) for section in original.sections}


def report_links(
    config: SiteConfig,
    url: str,
    lang: str,
    module: Module,
    source: str,
    lines: dict[str, tuple[int, int]],
    prompt: str,
) -> dict[str, str]:
    """Each section's report link (by section id), for the page at site path `url` in `lang`
    showing `module`, made from `source` (its file, relative to the project root), whose
    sections span `lines` there (see `source_lines`); `prompt` (in the page's language) asks the
    reader to describe the problem. None without an `issues_url`."""
    if not config.issues_url or not source:
        return {}
    page = public_url(config, url) or "/" + url
    links = {}
    for section in module.sections:
        first, last = lines.get(section.id) or section_lines(section)
        where = f"{source}, line {first}" if first == last else f"{source}, lines {first}-{last}"
        if config.repo_url:
            where += f" ({config.repo_url}{source}#L{first}-L{last})"
        facts = [f"Page: {page}#{section.id}", f"Language: {lang}", f"Source: {where}"]
        origin = module.origins.get(section.id)
        if origin is not None:
            try:
                catalog = origin.path.relative_to(config.root).as_posix()
            except ValueError:
                catalog = origin.path.name
            facts.append(f"Translation: {catalog}, line {origin.lines[0] if origin.lines else 1}")
        body = "\n".join([*facts, "", prompt, ""])
        links[section.id] = new_issue(config.issues_url, f"{module.title} › {section.id}", body)
    return links
