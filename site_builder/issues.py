"""The "Report a problem with this section" links: for each section of a page, a plain link (no
JavaScript) that opens a new issue in the project's tracker (`issues_url`, by default derived
from a GitHub `repo_url`: see `config.new_issue_url`), its title and body filled in with the page,
the section, the language, the source file and the section's lines (and, on a translated page,
the catalog line its text comes from), so that a reader reporting a wrong equation only has to
describe it."""

from pathlib import Path
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
    # "/" and ":" may stand unescaped in a query (RFC 3986, 3.4), and paths are full of them.
    return issues_url + separator + urlencode({"title": title, "body": body}, safe="/:")


def source_lines(original: Module) -> dict[str, tuple[int, int]]:
    """Each section's lines in the source (`section_lines`), from the module as written (a
    translation's commentary has lines of its own)."""
    return {section.id: section_lines(section) for section in original.sections}


def _catalog_name(path: Path) -> str:
    """A catalog as a translator names it: its path inside the language's LC_MESSAGES folder
    (the title gives the language), else its file name."""
    parts = path.parts
    if "LC_MESSAGES" in parts:
        return "/".join(parts[len(parts) - parts[::-1].index("LC_MESSAGES") :])
    return path.name


def report_links(
    config: SiteConfig,
    url: str,
    lang: str,
    module: Module,
    source: str,
    lines: dict[str, tuple[int, int]],
) -> dict[str, str]:
    """Each section's report link (by section id), for the page at site path `url` in `lang`
    showing `module`, made from `source` (its file, relative to the project root), whose
    sections span `lines` there (see `source_lines`). The title names the file, the lines and the
    language; the body holds the section's address, a link to the lines when there is a
    `repo_url`, and on a translated page the catalog line its text comes from. Every section of
    a page carries one, so they are kept short: no page title, no prompt. Empty without an
    `issues_url`."""
    if not config.issues_url or not source:
        return {}
    page = public_url(config, url) or "/" + url
    links = {}
    for section in module.sections:
        first, last = lines.get(section.id) or section_lines(section)
        span = f"{first}" if first == last else f"{first}-{last}"
        facts = [f"Page: {page}#{section.id}"]
        if config.repo_url:
            facts.append(f"Source: {config.repo_url}{source}#L{first}-L{last}")
        origin = module.origins.get(section.id)
        if origin is not None and origin.path.suffix == ".po":
            line = origin.lines[0] if origin.lines else 1
            facts.append(f"Translation: {_catalog_name(origin.path)}:{line}")
        title = f"{source}:{span} [{lang}]"
        links[section.id] = new_issue(config.issues_url, title, "\n".join([*facts, "", ""]))
    return links
