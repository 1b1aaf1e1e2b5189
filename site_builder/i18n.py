"""Translation catalogs: `site-builder i18n update|status|check|new`.

Layout under the locale dir (`<docs>/locale`):
    templates/<page path>.pot             extracted English, one per page
    <lang>/LC_MESSAGES/<page path>.po     one per page and language
    <lang>/LC_MESSAGES/site_builder.po    the site's buttons and menus, where site_builder ships
                                          no catalog for the language
    <lang>/glossary.toml                  terms for `i18n check` (optional)
Entries are keyed by msgctxt ("title", "summary", "intro", or the section id), so when the English
of a section changes its entry turns fuzzy and keeps the old English as `#| msgid`.
"""

import argparse
import io
import json
import re
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import normalize, unescape, write_po
from jinja2.ext import babel_extract

from .config import SiteConfig, load_config
from .model import BuildError, Module
from .sanitize import Parts, parts_of, sanitize_translation
from .translate import (
    PLAIN_TEXT,
    UI_DOMAIN,
    UI_LOCALE_DIR,
    Entry,
    load_translations,
    module_entries,
    msgid_of,
    page_path,
    po_path,
    read_catalog,
    usable_translation,
)

_GUESSED_FLAGS = {"python-format", "python-brace-format"}
_DATE_LINE = re.compile(rb'^"(POT-Creation-Date|PO-Revision-Date): [^"]*\\n"\n', re.MULTILINE)
UI_TEMPLATES = Path(__file__).parent / "templates"
_WIDTH = 76  # PO line width, as xgettext and msgmerge write them
_CJK_LINE_START = "。，、；：！？）」』》】"


@dataclass(frozen=True)
class Page:
    path: Path
    rel_path: str

    @property
    def name(self) -> str:
        return page_path(self.rel_path)


def locale_dir(config: SiteConfig) -> Path:
    if config.locale_dir is None:
        raise BuildError("pyproject.toml", None, "no docs dir: set docs in [tool.site_builder]")
    return config.locale_dir


def find_pages(config: SiteConfig) -> list[Page]:
    """Every page source, found exactly as the build finds them."""
    from .sources import find_sources

    return [Page(source.path, source.rel_path) for source in find_sources(config)]


def load_page(page: Page) -> Module:
    from .parse import parse_markdown_page, parse_module  # written in parallel; imported late

    parse = parse_module if page.path.suffix == ".py" else parse_markdown_page
    return parse(page.path, page.rel_path)


def _location(config: SiteConfig, path: Path) -> str:
    try:
        return path.resolve().relative_to(config.root).as_posix()
    except ValueError:
        return path.as_posix()


@dataclass(frozen=True)
class ProjectInfo:
    """What PO headers say about the project: name, version and where to report problems."""

    name: str
    version: str
    contact: str


def project_info(config: SiteConfig) -> ProjectInfo:
    pyproject = config.root / "pyproject.toml"
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        project = {}
    repository = re.sub(r"/(blob|tree)/.*$", "", config.repo_url.rstrip("/"))
    return ProjectInfo(
        project.get("name", config.source.name),
        project.get("version", "0"),
        f"{repository}/issues" if "github.com/" in repository else repository,
    )


def build_template(entries: list[Entry], location: str, project: ProjectInfo) -> Catalog:
    """The POT catalog of one page: one entry per text, keyed by msgctxt."""
    template = Catalog(
        project=project.name,
        version=project.version,
        msgid_bugs_address=project.contact,
        header_comment=f"# English texts of {location}, extracted by `site-builder i18n update`.\n"
        "# Do not edit: translations go into <lang>/LC_MESSAGES/*.po.",
    )
    for entry in entries:
        template.add(
            msgid_of(entry.text),
            locations=[(location, entry.line)],
            auto_comments=[entry.note],
            context=entry.context,
        )
    return template


def new_catalog(lang: str, location: str, project: ProjectInfo) -> Catalog:
    locale = Locale.parse(lang.replace("-", "_"))
    team = f"{locale.english_name} <{project.contact}>"
    return Catalog(
        locale=locale,
        project=project.name,
        version=project.version,
        msgid_bugs_address=project.contact,
        fuzzy=False,
        language_team=team,
        last_translator=team,  # until a translator's editor puts their name here
        revision_date=datetime.now(UTC),
        header_comment=f"# {locale.english_name} translation of {location}.\n"
        "# Edit with Poedit or any PO editor; see CONTRIBUTING.md.",
    )


def merge(catalog: Catalog, template: Catalog) -> None:
    """Update `catalog` from `template`, matching entries by msgctxt (not by English text).

    An entry whose English changed keeps its translation, turns fuzzy, and remembers the English
    it was translated from as `previous_id`; entries whose context vanished become obsolete.
    """
    by_context = {message.context: message for message in catalog if message.context}
    previous = {}
    for new in template:
        old = by_context.get(new.context)
        if not new.id or old is None:
            continue
        if old.id != new.id:
            catalog.delete(old.id, context=old.context)
            translated = bool(old.string)
            rekeyed = Message(
                new.id,
                string=old.string,
                flags=old.flags | ({"fuzzy"} if translated else set()),
                user_comments=old.user_comments,
                context=new.context,
            )
            catalog[new.id] = rekeyed
            if translated:
                # The English the translation was made from: the oldest one while still fuzzy.
                previous[new.context] = (
                    old.previous_id if old.fuzzy and old.previous_id else [old.id]
                )
        elif old.fuzzy and old.previous_id:
            previous[new.context] = old.previous_id
    catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
    for message in catalog:
        if message.context in previous and message.fuzzy:
            message.previous_id = previous[message.context]


def _previous_lines(message: Message) -> str:
    """A fuzzy entry's previous English as GNU gettext writes it: one quoted line per `#|` line."""
    if not (message.fuzzy and message.previous_id):
        return ""
    keywords = ("msgid", "msgid_plural")
    return "".join(
        f"#| {keyword} {normalize(text, prefix='#| ', width=_WIDTH)}\n"
        for keyword, text in zip(keywords, message.previous_id, strict=False)
    )


def render_catalog(catalog: Catalog) -> bytes:
    """The PO file of `catalog`, with `#| msgid` lines for the fuzzy entries.

    Babel's `include_previous` runs the previous msgid through its comment wrapper, which joins its
    quoted lines and re-wraps them at spaces, so the `#|` lines are inserted here instead: before
    each entry's first keyword line, in the order `write_po` writes the entries (header first).
    """
    messages = list(catalog)
    for message in [*messages, *catalog.obsolete.values()]:
        message.flags -= _GUESSED_FLAGS  # Babel guesses these from `%`; Markdown has none
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=_WIDTH)
    lines, index, last_keyword = [], -1, None
    for line in buffer.getvalue().decode(catalog.charset).splitlines(keepends=True):
        keyword = line.partition(" ")[0] if line[:1].isalpha() else None
        if keyword == "msgctxt" or (keyword == "msgid" and last_keyword != "msgctxt"):
            index += 1
            if index < len(messages):
                lines.append(_previous_lines(messages[index]))
        last_keyword = keyword or last_keyword
        lines.append(line)
    return "".join(lines).encode(catalog.charset)


def write_if_changed(path: Path, content: bytes) -> bool:
    """Write `content` unless the file already says the same apart from its dates."""
    if path.is_file() and _DATE_LINE.sub(b"", path.read_bytes()) == _DATE_LINE.sub(b"", content):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(content)
    temporary.replace(path)
    return True


def target_languages(config: SiteConfig, requested: list[str] | None) -> list[str]:
    translated = list(config.languages[1:])
    for lang in requested or []:
        if lang not in translated:
            raise BuildError(
                "pyproject.toml",
                None,
                f"language '{lang}' is not configured (configured: "
                f"{', '.join(translated) or 'none'}); add it with `site-builder i18n new {lang}`",
            )
    return list(requested) if requested else translated


def update(config: SiteConfig, langs: list[str]) -> list[Path]:
    """Extract every page's English into its POT and merge it into each language's PO, and the
    templates' UI strings into each language's UI catalog (see `ui_catalog_path`).

    Every page is parsed before anything is written, so an error leaves all catalogs as they were.
    """
    root, project, written = locale_dir(config), project_info(config), []
    pages = [(page, module_entries(load_page(page))) for page in find_pages(config)]
    for page, entries in pages:
        if not entries:
            continue
        location = _location(config, page.path)
        template = build_template(entries, location, project)
        pot = root / "templates" / f"{page.name}.pot"
        if write_if_changed(pot, render_catalog(template)):
            written.append(pot)
        for lang in langs:
            path = po_path(root, lang, page.rel_path)
            exists = path.is_file()
            catalog = read_catalog(path) if exists else new_catalog(lang, location, project)
            merge(catalog, template)
            if write_if_changed(path, render_catalog(catalog)):
                written.append(path)
    template = ui_template(project)
    for lang in langs:
        path = ui_catalog_path(config, lang)
        if path is None:
            continue
        location = "the site's interface (site_builder/templates/)"
        catalog = read_catalog(path) if path.is_file() else new_catalog(lang, location, project)
        merge(catalog, template)
        if write_if_changed(path, render_catalog(catalog)):
            written.append(path)
    return written


def ui_template(project: ProjectInfo) -> Catalog:
    """Every `_("...")` string of site_builder's Jinja templates, as a catalog template."""
    template = Catalog(project=project.name, version=project.version)
    for message, (file, line) in ui_strings().items():
        template.add(message, locations=[(f"site_builder/templates/{file}", line)])
    return template


def ui_catalog_path(config: SiteConfig, lang: str) -> Path | None:
    """The project's catalog of the site's buttons and menus in `lang`: the one it has, else one
    to create when site_builder ships none for the language; None when only the shipped one is."""
    path = locale_dir(config) / lang / "LC_MESSAGES" / f"{UI_DOMAIN}.po"
    shipped = UI_LOCALE_DIR / lang / "LC_MESSAGES" / f"{UI_DOMAIN}.po"
    return path if path.is_file() or not shipped.is_file() else None


@dataclass
class Status:
    page: str
    lang: str
    translated: int = 0
    fuzzy: int = 0
    missing: int = 0

    @property
    def total(self) -> int:
        return self.translated + self.fuzzy + self.missing

    @property
    def percent(self) -> float:
        return 100.0 * self.translated / self.total if self.total else 100.0


def status(config: SiteConfig, langs: list[str]) -> list[Status]:
    """Per page and language, what the site would show: translated, fuzzy/outdated, missing."""
    rows = []
    for page in find_pages(config):
        entries = module_entries(load_page(page))
        if not entries:
            continue
        for lang in langs:
            messages = load_translations(po_path(locale_dir(config), lang, page.rel_path))
            row = Status(page.name, lang)
            for entry in entries:
                message = messages.get(entry.context)
                if usable_translation(message, entry.text) is not None:
                    row.translated += 1
                elif message is not None and message.string:
                    row.fuzzy += 1
                else:
                    row.missing += 1
            rows.append(row)
    for lang in langs:
        if row := ui_status(config, lang):
            rows.append(row)
    return rows


UI_ROW = "site interface"


def ui_status(config: SiteConfig, lang: str) -> Status | None:
    """The templates' UI strings in `lang`, when the project has its own UI catalog for it (the
    ones site_builder ships are its own business). A string counts as translated if either
    catalog translates it, as the built site uses both."""
    project = ui_catalog_path(config, lang)
    if project is None or not project.is_file():
        return None
    shipped = UI_LOCALE_DIR / lang / "LC_MESSAGES" / f"{UI_DOMAIN}.po"
    catalogs = [read_catalog(path) for path in (project, shipped) if path.is_file()]
    row = Status(UI_ROW, lang)
    for string in ui_strings():
        messages = [m for catalog in catalogs if (m := catalog.get(string)) and m.string]
        if any(not message.fuzzy for message in messages):
            row.translated += 1
        elif messages:
            row.fuzzy += 1
        else:
            row.missing += 1
    return row


def totals(rows: list[Status]) -> dict[str, Status]:
    by_lang: dict[str, Status] = {}
    for row in rows:
        total = by_lang.setdefault(row.lang, Status("total", row.lang))
        total.translated += row.translated
        total.fuzzy += row.fuzzy
        total.missing += row.missing
    return by_lang


def format_status(rows: list[Status]) -> str:
    width = max([len(row.page) for row in rows] + [len("page")])
    header = f"{'page':<{width}}  lang  translated  fuzzy  missing       %"
    lines = [header, "-" * len(header)]
    for row in [*rows, *totals(rows).values()]:
        lines.append(
            f"{row.page:<{width}}  {row.lang:<4}  {row.translated:>10}  {row.fuzzy:>5}  "
            f"{row.missing:>7}  {row.percent:>5.1f}%"
        )
    return "\n".join(lines)


@dataclass
class Glossary:
    terms: dict[str, str] = field(default_factory=dict)
    forbidden: list[str] = field(default_factory=list)
    # term -> English phrases in which the word means something else ("GPU kernel" for "kernel")
    exceptions: dict[str, list[str]] = field(default_factory=dict)

    def term_pattern(self, term: str) -> re.Pattern:
        """`depth-wise convolution` also matches `depthwise convolutions`, any case."""
        words = [re.escape(part) for part in re.split(r"[-\s]+", term)]
        return re.compile(r"\b" + r"[-\s]?".join(words) + r"(?:e?s)?\b", re.IGNORECASE)

    def uses_term(self, term: str, english: str) -> bool:
        """Whether `english` uses `term` outside the term's exception phrases."""
        for phrase in self.exceptions.get(term, []):
            english = self.term_pattern(phrase).sub(lambda match: " " * len(match[0]), english)
        return bool(self.term_pattern(term).search(english))


def _glossary_term(glossary: Glossary, term: str, value: object) -> str | None:
    """Add one `[terms]` entry; returns what is wrong with it, if anything."""
    if isinstance(value, str):
        glossary.terms[term] = value
        return None
    if not isinstance(value, dict) or not isinstance(value.get("target"), str):
        return f"'{term}': expected a translation or a table with target = \"...\""
    if unknown := set(value) - {"target", "except"}:
        return f"'{term}': unknown key(s) {', '.join(sorted(unknown))} (allowed: target, except)"
    phrases = value.get("except", [])
    if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
        return f"'{term}': except must be a list of English phrases"
    for phrase in phrases:
        if not glossary.term_pattern(term).search(phrase):
            return f"'{term}': the except phrase '{phrase}' does not contain the term"
    glossary.terms[term], glossary.exceptions[term] = value["target"], phrases
    return None


def _line_of(text: str, key: str) -> int | None:
    """The line of `key` (as a key or a `[terms.key]` header) in a TOML text, if it is there."""
    quoted = rf'(?:"{re.escape(key)}"|{re.escape(key)})'
    pattern = re.compile(rf"^\s*(?:\[\s*terms\s*\.\s*{quoted}\s*\]|{quoted}\s*=)", re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def load_glossary(path: Path) -> Glossary:
    """`[terms]`: "English" = "target", or a table `{ target = "...", except = ["..."] }`."""
    if not path.is_file():
        return Glossary()
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        line = re.search(r"line (\d+)", str(error))
        raise BuildError(path, int(line.group(1)) if line else None, str(error)) from None
    terms, forbidden = data.get("terms", {}), data.get("forbidden", [])
    if not isinstance(forbidden, list) or not all(isinstance(word, str) for word in forbidden):
        raise BuildError(path, _line_of(text, "forbidden"), "forbidden must be a list of strings")
    if not isinstance(terms, dict):
        raise BuildError(path, None, "expected a [terms] table")
    glossary = Glossary(forbidden=list(forbidden))
    for term, value in terms.items():
        if problem := _glossary_term(glossary, term, value):
            raise BuildError(path, _line_of(text, term), problem)
    return glossary


def _difference(what: str, english: Counter, translation: Counter) -> str | None:
    missing, extra = english - translation, translation - english
    if not missing and not extra:
        return None
    details = []
    if missing:
        details.append(f"missing {sorted(missing.elements())!r}")
    if extra:
        details.append(f"not in the English {sorted(extra.elements())!r}")
    return f"{what} differ from the English: " + "; ".join(details)


def check_translation(
    english: str, translation: str, glossary: Glossary, plain_text: bool = False
) -> list[str]:
    """Problems of one translated entry (see the brief of `i18n check` in the module docs).
    A plain-text entry (title, summary) is not Markdown: only its words and lines are checked."""
    source, target = parts_of(english), parts_of(translation)
    problems = [] if plain_text else _markdown_problems(english, translation, source, target)
    for term, wanted in glossary.terms.items():
        if glossary.uses_term(term, source.prose) and wanted not in target.prose:
            problems.append(f"glossary: '{term}' should be translated as '{wanted}'")
    for word in glossary.forbidden:
        if word in target.prose:
            problems.append(f"glossary: '{word}' is not used in this language (see glossary.toml)")
    for line in translation.splitlines():
        if line.strip() and line.strip()[0] in _CJK_LINE_START:
            problems.append(f"'{line.strip()[0]}' starts a line: join it to the sentence before")
    return problems


def _markdown_problems(english: str, translation: str, source: Parts, target: Parts) -> list[str]:
    """What a Markdown translation must keep of its English, and HTML it may not add."""
    problems = [
        problem
        for problem in (
            _difference("math spans", source.math, target.math),
            _difference("inline code spans", source.code, target.code),
            _difference("link targets", source.links, target.links),
            _difference("image sources", source.images, target.images),
        )
        if problem
    ]
    if source.blocks != target.blocks:
        shape = ", ".join(source.blocks) or "paragraphs only"
        problems.append(
            f"structure differs: the English has {shape}; "
            f"this has {', '.join(target.blocks) or 'paragraphs only'}"
        )
    sanitized = sanitize_translation(translation, english)
    problems += [f"unsafe: {problem}" for problem in sanitized.problems]
    if not sanitized.problems and sanitized.text != translation:
        problems.append("raw HTML that the English does not have will show as text")
    return problems


def check(config: SiteConfig, langs: list[str]) -> list[str]:
    """`file:line: message` for every problem in the translated, non-fuzzy entries."""
    root, problems = locale_dir(config), []
    for lang in langs:
        glossary = load_glossary(root / lang / "glossary.toml")
        for path in sorted((root / lang / "LC_MESSAGES").rglob("*.po")):
            catalog = read_catalog(path)  # a malformed file stops here, with its line
            text = path.read_text(encoding="utf-8")
            problems += [f"{path}:{line}: {problem}" for line, problem in duplicate_entries(text)]
            for message in catalog:
                if not message.id or message.fuzzy or not message.string:
                    continue
                plain = message.context in PLAIN_TEXT
                for problem in check_translation(message.id, message.string, glossary, plain):
                    problems.append(f"{path}:{message.lineno}: {problem}")
    return problems


def duplicate_entries(text: str) -> list[tuple[int, str]]:
    """(msgid line, problem) for each entry of a PO file whose msgctxt an earlier entry has.

    Babel keeps the last of two entries with the same msgctxt and msgid; `msgfmt -c` rejects the
    file. With different msgids both load, but the site finds translations by msgctxt alone."""
    first_of_key: dict[tuple[str | None, str], int] = {}
    first_of_context: dict[str, int] = {}
    problems = []
    for context, msgid, line in _entries(text):
        if context is None and not msgid:
            continue  # the header
        if (context, msgid) in first_of_key:
            what = (
                f"msgctxt {context!r} and its msgid are" if context else f"msgid {msgid[:40]!r} is"
            )
            first = first_of_key[context, msgid]
            problem = f"duplicate entry ({what} already at line {first}): msgfmt rejects"
            problems.append((line, problem + " the file; keep one"))
        elif context is not None and context in first_of_context:
            first = first_of_context[context]
            problem = f"msgctxt {context!r} is already at line {first}: the site uses one entry"
            problems.append((line, problem + " per msgctxt; keep one"))
        else:
            first_of_key[context, msgid] = line
            if context is not None:
                first_of_context[context] = line
    return problems


def _entries(text: str) -> list[tuple[str | None, str, int]]:
    """(msgctxt or None, msgid, msgid line) of each entry, obsolete ones (#~) left out; the lines
    have passed `read_catalog`'s grammar check."""
    entries, fields, keyword, msgid_line = [], {}, None, 0
    for number, line in enumerate([*text.split("\n"), 'msgctxt ""'], 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith('"'):
            fields[keyword] = fields.get(keyword, "") + unescape(line)
            continue
        word, _, rest = line.partition(" ")
        if word == "msgctxt" or (word == "msgid" and keyword != "msgctxt"):
            if "msgid" in fields:
                entries.append((fields.get("msgctxt"), fields["msgid"], msgid_line))
            fields = {}
        msgid_line = number if word == "msgid" else msgid_line
        keyword, fields[word] = word, unescape(rest.strip())
    return entries


def ui_strings(templates: Path = UI_TEMPLATES) -> dict[str, tuple[str, int]]:
    """Every `_("...")` string of the Jinja templates, with its first `file:line`."""
    found: dict[str, tuple[str, int]] = {}
    for path in sorted(templates.glob("*.html")):
        with open(path, "rb") as file:
            for line, _function, message, _comments in babel_extract(file, ["_"], [], {}):
                found.setdefault(message, (path.name, line))
    return found


def add_language(pyproject: Path, lang: str) -> str | None:
    """Add `lang` to `languages` in `[tool.site_builder]`, keeping the rest of the file as it is.

    Returns None when done, else the line the user should add by hand.
    """
    import tomlkit  # only this command edits TOML
    from tomlkit.exceptions import TOMLKitError

    text = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else ""
    table = tomllib.loads(text).get("tool", {}).get("site_builder") if text else None
    languages = list((table or {}).get("languages", ["en"]))
    if lang not in languages:
        languages.append(lang)
    line = "languages = [" + ", ".join(f'"{code}"' for code in languages) + "]"
    if table is None:
        return line
    try:
        document = tomlkit.parse(text)
        settings = document["tool"]["site_builder"]
        if "languages" not in settings:
            settings["languages"] = languages
        elif lang not in settings["languages"]:
            settings["languages"].append(lang)
    except (TOMLKitError, KeyError, AttributeError):
        return line
    pyproject.write_text(tomlkit.dumps(document), encoding="utf-8")
    return None


GLOSSARY_HEADER = """\
# {name} glossary, enforced by `site-builder i18n check {lang}`.
# [terms]: when the English text uses the term (any case, plural or with/without a hyphen),
# the translation must contain the target. `forbidden`: words that must never appear (wrong
# translations you have seen, and the spellings you decided against).
# A term whose English word also has another meaning is a table instead: `target` is the
# translation and `except` lists English phrases in which the word does not count as the term:
#   [terms.kernel]
#   target = "..."
#   except = ["GPU kernel"]
"""


def glossary_skeleton(root: Path, lang: str) -> str:
    """A glossary.toml to start `lang` from: names every other glossary keeps as they are, and
    the other terms commented out, each with the other languages' choices for reference."""
    choices: dict[str, dict[str, str]] = {}
    exceptions: dict[str, list[str]] = {}
    for path in sorted(root.glob("*/glossary.toml")):
        if path.parent.name == lang:
            continue
        try:
            glossary = load_glossary(path)
        except BuildError:
            continue
        for term, target in glossary.terms.items():
            choices.setdefault(term, {})[path.parent.name] = target
            exceptions.setdefault(term, glossary.exceptions.get(term, []))
    name = Locale.parse(lang.replace("-", "_")).english_name
    lines = [GLOSSARY_HEADER.format(name=name, lang=lang), "forbidden = []", "", "[terms]"]
    names = [term for term, targets in choices.items() if set(targets.values()) == {term}]
    if names:
        lines.append("# Names that stay as they are.")
        lines += [f"{_toml_string(term)} = {_toml_string(term)}" for term in names]
    others = [term for term in choices if term not in names]
    if others:
        lines.append("# Translate these, then uncomment them (others' choices on the right).")
    for term in others:
        seen = ", ".join(f"{code}: {target}" for code, target in choices[term].items())
        if exceptions[term]:
            seen += f"; except {', '.join(exceptions[term])}"
        lines.append(f'# {_toml_string(term)} = ""  # {seen}')
    return "\n".join(lines) + "\n"


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a TOML basic string for these texts


def new_language(config: SiteConfig, lang: str) -> tuple[list[Path], str | None]:
    """Create `lang`'s catalogs (pages, and the site's interface unless site_builder ships it) and
    a glossary to start from, and configure the language; returns the files written and the
    line to add to pyproject.toml by hand, if it could not be added."""
    try:
        Locale.parse(lang.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise BuildError("<command line>", None, f"unknown language code '{lang}'") from None
    if lang == config.languages[0]:
        raise BuildError("<command line>", None, f"'{lang}' is the source language")
    written = update(config, [lang])
    glossary = locale_dir(config) / lang / "glossary.toml"
    if not glossary.is_file():
        glossary.parent.mkdir(parents=True, exist_ok=True)
        glossary.write_text(glossary_skeleton(locale_dir(config), lang), encoding="utf-8")
        written.append(glossary)
    return written, add_language(config.root / "pyproject.toml", lang)


def _config(args: argparse.Namespace) -> SiteConfig:
    return load_config(start=Path(args.project))


def _cmd_update(args: argparse.Namespace) -> int:
    config = _config(args)
    written = update(config, target_languages(config, args.langs))
    for path in written:
        print(f"wrote {_location(config, path)}")
    print(f"{len(written)} file(s) changed")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    config = _config(args)
    langs = target_languages(config, None)
    if not langs:
        print("only the source language is configured; add one with `site-builder i18n new LANG`")
        return 0
    rows = status(config, langs)
    print(format_status(rows))
    low = [t for t in totals(rows).values() if args.fail_under and t.percent < args.fail_under]
    for total in low:
        print(f"{total.lang}: {total.percent:.1f}% translated, under {args.fail_under}%")
    return 1 if low else 0


def _cmd_check(args: argparse.Namespace) -> int:
    config = _config(args)
    problems = check(config, target_languages(config, args.langs))
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(problems)} problem(s)", file=sys.stderr if problems else sys.stdout)
    return 1 if problems else 0


def _cmd_new(args: argparse.Namespace) -> int:
    config = _config(args)
    written, line = new_language(config, args.lang)
    for path in written:
        print(f"wrote {_location(config, path)}")
    print(f"created {len(written)} file(s) for '{args.lang}'")
    if line:
        print(f"add this line to [tool.site_builder] in pyproject.toml:\n    {line}")
    else:
        print(f"added '{args.lang}' to languages in pyproject.toml")
    print(NEXT_STEPS.format(lang=args.lang, locale=_location(config, locale_dir(config))))
    return 0


NEXT_STEPS = """
Next steps:
  1. agree on the terms in {locale}/{lang}/glossary.toml
  2. translate the .po files in {locale}/{lang}/LC_MESSAGES/ with a PO editor
  3. site-builder i18n status; site-builder i18n check {lang}
  4. site-builder serve, then open http://127.0.0.1:8000/{lang}/"""


def add_cli(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `i18n` and its subcommands; each sets `func(args) -> exit code`."""
    i18n = subparsers.add_parser("i18n", help="translation catalogs (gettext PO files)")
    commands = i18n.add_subparsers(dest="i18n_command", metavar="COMMAND", required=True)
    project = argparse.ArgumentParser(add_help=False)
    project.add_argument(
        "--project", default=".", help="folder with pyproject.toml (default: current folder)"
    )
    langs_help = "languages (default: every configured one but the source language)"

    command = commands.add_parser(
        "update", parents=[project], help="extract the English and merge it into the PO files"
    )
    command.add_argument("langs", nargs="*", metavar="LANG", help=langs_help)
    command.set_defaults(func=_cmd_update)

    command = commands.add_parser(
        "status", parents=[project], help="translated/fuzzy/missing entries per page"
    )
    command.add_argument(
        "--fail-under", type=float, default=0, metavar="N",
        help="exit 1 if a language has less than N%% translated",
    )  # fmt: skip
    command.set_defaults(func=_cmd_status)

    command = commands.add_parser(
        "check",
        parents=[project],
        help="check math, code, links, structure, glossary, punctuation, duplicate entries",
    )
    command.add_argument("langs", nargs="*", metavar="LANG", help=langs_help)
    command.set_defaults(func=_cmd_check)

    command = commands.add_parser(
        "new", parents=[project], help="start a language: create its catalogs and configure it"
    )
    command.add_argument("lang", metavar="LANG", help="language code, e.g. zh or pt_BR")
    command.set_defaults(func=_cmd_new)
    return i18n


def main(argv: list[str] | None = None) -> int:
    """`python -m site_builder.i18n ...` (the same as `site-builder i18n ...`)."""
    top = argparse.ArgumentParser(prog="site-builder")
    add_cli(top.add_subparsers(dest="command", required=True))
    args = top.parse_args(["i18n", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except BuildError as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
