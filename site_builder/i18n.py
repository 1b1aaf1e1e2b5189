"""Translation catalogs, the library behind `site-builder i18n update|status|check|new`.

Layout under the locale dir (`<docs>/locale`):
    templates/<page stem>.pot             extracted English, one per page
    <lang>/LC_MESSAGES/<page stem>.po     one per page and language (`paths.catalog_path`)
    <lang>/LC_MESSAGES/site_builder.po    the site's buttons and menus, where site_builder ships
                                          no catalog for the language
    <lang>/glossary.toml                  terms for `i18n check` (optional)
Entries are paragraph-sized and found by their English, as GNU msgmerge finds them (see `merge`):
when the English of a block changes its entry turns fuzzy and keeps the old English as
`#| msgid`. Catalogs are read and merged with polib and written as GNU gettext writes them
(`pofile`); Babel knows the languages (names, plural forms) and finds the templates' strings.
"""

import copy
import difflib
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import polib
import tomlkit
from babel import Locale, UnknownLocaleError
from babel.messages.extract import extract_python
from babel.messages.plurals import get_plural
from jinja2.ext import babel_extract
from tomlkit.exceptions import TOMLKitError

from . import i18n_checks, pofile
from .config import SiteConfig, language_code_problem
from .files import atomic_write
from .model import BuildError
from .parse import parse_source
from .paths import catalog_path, page_stem
from .sanitize import Parts, parts_of, sanitize_translation
from .site_texts import SITE_STEM
from .sources import find_sources
from .translate import (
    PLAIN_TEXT,
    UI_DOMAIN,
    UI_LOCALE_DIR,
    Entry,
    Key,
    module_entries,
    msgstr_lines,
    parse_catalog,
    po_lines,
    read_catalog,
    read_po_bytes,
)

_DATE_LINE = re.compile(rb'^"(POT-Creation-Date|PO-Revision-Date): [^"]*\\n"\n', re.MULTILINE)
UI_TEMPLATES = Path(__file__).parent / "templates"
# A printf-style placeholder (`%s`, `%(name)s`, `%.2f`); `%` before a space or a digit is a percent.
_PLACEHOLDER = re.compile(r"%(\([^()\s]*\))?[#0+-]*\d*(\.\d+)?[sdiouxXeEfFgGcra]")


def locale_dir(config: SiteConfig) -> Path:
    if config.locale_dir is None:
        raise BuildError("pyproject.toml", None, "no docs dir: set docs in [tool.site_builder]")
    return config.locale_dir


def project_path(config: SiteConfig, path: Path) -> str:
    """`path` relative to the project root where it is inside it."""
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


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M%z")


def _catalog(header: str, project: ProjectInfo, metadata: dict[str, str]) -> polib.POFile:
    """A catalog with the header fields that `msgfmt -c` asks for, and the given ones."""
    catalog = polib.POFile()
    catalog.header = header
    catalog.metadata = {
        "Project-Id-Version": f"{project.name} {project.version}",
        "Report-Msgid-Bugs-To": project.contact,
        "POT-Creation-Date": _now(),
        **metadata,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Transfer-Encoding": "8bit",
    }
    return catalog


def build_template(entries: list[Entry], location: str, project: ProjectInfo) -> polib.POFile:
    """The POT catalog of one page: one entry per English text (the same text twice is one entry
    with two locations), in page order."""
    template = _catalog(
        f"English texts of {location}, extracted by `site-builder i18n update`.\n"
        "Do not edit: translations go into <lang>/LC_MESSAGES/*.po.",
        project,
        {
            "PO-Revision-Date": "YEAR-MO-DA HO:MI+ZONE",  # the placeholders xgettext writes
            "Last-Translator": "FULL NAME <EMAIL@ADDRESS>",
            "Language-Team": "LANGUAGE <LL@li.org>",
        },
    )
    template.metadata_is_fuzzy = True
    found: dict[Key, polib.POEntry] = {}
    for entry in entries:
        occurrence = (location, str(entry.line))
        if (same := found.get(entry.key)) is not None:
            same.occurrences.append(occurrence)
            continue
        found[entry.key] = polib.POEntry(
            msgctxt=entry.context, msgid=entry.key[1], comment=entry.note, occurrences=[occurrence]
        )
        template.append(found[entry.key])
    return template


def new_catalog(lang: str, location: str, project: ProjectInfo) -> polib.POFile:
    """An empty catalog of `lang`, its header filled in as msginit does (the plural forms from
    Babel)."""
    locale = Locale.parse(lang.replace("-", "_"))
    team = f"{locale.english_name} <{project.contact}>"
    catalog = _catalog(
        f"{locale.english_name} translation of {location}.\n"
        "Edit with Poedit or any PO editor; see CONTRIBUTING.md.",
        project,
        {
            "PO-Revision-Date": _now(),
            "Last-Translator": team,  # until a translator's editor puts their name here
            "Language-Team": team,
            "Language": str(locale),
        },
    )
    catalog.metadata["Plural-Forms"] = get_plural(locale).plural_forms
    return catalog


FUZZY_THRESHOLD = 0.6  # msgmerge's: how alike two English texts must be to offer a translation


def _similar(msgid: str, candidates: list[polib.POEntry]) -> polib.POEntry | None:
    """The candidate whose English is most like `msgid`, if alike enough (see FUZZY_THRESHOLD)."""
    best, best_ratio = None, FUZZY_THRESHOLD
    for candidate in candidates:
        matcher = difflib.SequenceMatcher(None, msgid, candidate.msgid, autojunk=False)
        if matcher.real_quick_ratio() < best_ratio or matcher.quick_ratio() < best_ratio:
            continue
        if (ratio := matcher.ratio()) >= best_ratio:
            best, best_ratio = candidate, ratio
    return best


def compendium(catalogs: list[polib.POFile]) -> dict[Key, polib.POEntry]:
    """The translated, non-fuzzy entries of a language's catalogs by key, as msgmerge's
    `--compendium` uses them: a text that moved to another page keeps its translation."""
    found: dict[Key, polib.POEntry] = {}
    for catalog in catalogs:
        for entry in catalog:
            if entry.msgid and entry.msgstr and not entry.fuzzy:
                found.setdefault((entry.msgctxt, entry.msgid), entry)
    return found


def merge(
    catalog: polib.POFile,
    template: polib.POFile,
    others: dict[Key, polib.POEntry] | None = None,
) -> polib.POFile:
    """`catalog` updated from `template` as GNU msgmerge does; a new catalog, in the template's
    order, with `catalog`'s header.

    An entry is found by its English (and msgctxt): it keeps its translation, flags and
    translator comments, and takes the template's notes and locations. An English text that the
    catalog lacks takes the translation of the same text in `others` (a compendium, see
    `compendium`), or else turns fuzzy with the translation of the most similar English of the
    catalog (or of `others`), whose English it keeps in `previous_msgid`: the oldest one while it
    stays fuzzy. Translated entries that no English uses any more become obsolete.
    """
    merged = polib.POFile(wrapwidth=catalog.wrapwidth)
    merged.header, merged.metadata = catalog.header, dict(catalog.metadata)
    merged.metadata_is_fuzzy = catalog.metadata_is_fuzzy
    current = {(e.msgctxt, e.msgid): e for e in catalog if e.msgid and e.obsolete}
    current |= {(e.msgctxt, e.msgid): e for e in catalog if e.msgid and not e.obsolete}
    others = others or {}
    used: set[Key] = set()
    missing: list[polib.POEntry] = []
    for new in template:
        key = (new.msgctxt, new.msgid)
        entry = polib.POEntry(
            msgctxt=new.msgctxt,
            msgid=new.msgid,
            comment=new.comment,
            occurrences=list(new.occurrences),
        )
        merged.append(entry)
        if (old := current.get(key)) is not None:
            used.add(key)
            entry.msgstr, entry.tcomment, entry.flags = old.msgstr, old.tcomment, list(old.flags)
            entry.previous_msgctxt = old.previous_msgctxt if old.fuzzy else None
            entry.previous_msgid = old.previous_msgid if old.fuzzy else None
        elif (found := others.get(key)) is not None:
            entry.msgstr = found.msgstr
        else:
            missing.append(entry)
    translated = [e for key, e in current.items() if e.msgstr and key not in used]
    alike = [e for e in others.values() if (e.msgctxt, e.msgid) not in current] + translated
    for entry in missing:  # the most similar translated English, as msgmerge's fuzzy match
        if entry.msgctxt:  # the page's title or summary: its own old one
            old = next((e for e in translated if e.msgctxt == entry.msgctxt), None)
        else:
            old = _similar(entry.msgid, [e for e in alike if e.msgctxt is None])
        if old is None:
            continue
        used.add((old.msgctxt, old.msgid))
        entry.msgstr, entry.flags = old.msgstr, [*old.flags, *([] if old.fuzzy else ["fuzzy"])]
        entry.previous_msgid = (old.previous_msgid if old.fuzzy else None) or old.msgid
    for key, old in current.items():
        if key not in used and old.msgstr:
            gone = copy.copy(old)
            gone.obsolete, gone.occurrences, gone.comment = True, [], ""
            merged.append(gone)
    return merged


def write_if_changed(path: Path, catalog: polib.POFile) -> bool:
    """Write `catalog` (atomically, laid out as GNU gettext does, see `pofile`) unless the file
    already says the same apart from its dates. Entries the file has keep their bytes."""
    previous = path.read_bytes() if path.is_file() else None
    text = pofile.format_catalog(catalog, previous.decode("utf-8") if previous else None)
    content = text.encode("utf-8")
    if previous is not None and _DATE_LINE.sub(b"", previous) == _DATE_LINE.sub(b"", content):
        return False
    atomic_write(path, content)
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


def update(config: SiteConfig, langs: list[str], warnings: list[BuildError]) -> list[Path]:
    """Extract every page's English into its POT and merge it into each language's PO (see
    `merge`; each language's other page catalogs serve as its compendium), and the templates' UI
    strings into each language's UI catalog (see `ui_catalog_path`). Problems that stop
    nothing (a catalog's unreadable `#|` line) are added to `warnings`.

    Every page and catalog is read before anything is written, so an error leaves all catalogs
    as they were."""
    root, project, outputs = locale_dir(config), project_info(config), []
    pages = []
    for source in find_sources(config):
        entries = module_entries(parse_source(source.path, source.rel_path))
        if entries:
            location = project_path(config, source.path)
            pages.append((source, location, build_template(entries, location, project)))
            stem = page_stem(source.rel_path)
            outputs.append((root / "templates" / f"{stem}.pot", pages[-1][2]))
    for lang in langs:
        catalogs = {}
        for source, location, _template in pages:
            path = catalog_path(root, lang, source.rel_path)
            catalogs[path] = (
                read_catalog(path, warnings)
                if path.is_file()
                else new_catalog(lang, location, project)
            )
        folder = root / lang / "LC_MESSAGES"
        for path in sorted(folder.rglob("*.po")) if folder.is_dir() else []:
            if path not in catalogs and path.name != f"{UI_DOMAIN}.po":  # a page that went
                catalogs[path] = read_catalog(path, warnings)
        others = compendium(list(catalogs.values()))
        for source, _location, template in pages:
            path = catalog_path(root, lang, source.rel_path)
            outputs.append((path, merge(catalogs[path], template, others)))
    template = ui_template(project)
    for lang in langs:
        if ui_path := ui_catalog_path(config, lang):
            location = "the site's interface (site_builder/templates/)"
            catalog = (
                read_catalog(ui_path, warnings)
                if ui_path.is_file()
                else new_catalog(lang, location, project)
            )
            outputs.append((ui_path, merge(catalog, template)))
    return [path for path, catalog in outputs if write_if_changed(path, catalog)]


def ui_template(project: ProjectInfo) -> polib.POFile:
    """The strings of the site's interface (`ui_strings`), as a catalog template."""
    template = _catalog("The site's interface (site_builder/templates/).", project, {})
    for message, (file, line) in ui_strings().items():
        occurrence = (f"site_builder/{file}", str(line))
        template.append(polib.POEntry(msgid=message, occurrences=[occurrence]))
    return template


def ui_catalog_path(config: SiteConfig, lang: str) -> Path | None:
    """The project's catalog of the site's buttons and menus in `lang`: the one it has, else one
    to create when site_builder ships none for the language; None when only the shipped one is."""
    path = locale_dir(config) / lang / "LC_MESSAGES" / f"{UI_DOMAIN}.po"
    shipped = UI_LOCALE_DIR / lang / "LC_MESSAGES" / f"{UI_DOMAIN}.po"
    return path if path.is_file() or not shipped.is_file() else None


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
    english: str,
    translation: str,
    glossary: Glossary,
    plain_text: bool = False,
    lang: str | None = None,
) -> list[str]:
    """Problems of one translated entry (see the brief of `i18n check` in the module docs).
    A plain-text entry (title, summary) is not Markdown: only its words and lines are checked."""
    source, target = parts_of(english), parts_of(translation)
    problems = [] if plain_text else _markdown_problems(english, translation, source, target)
    problems += i18n_checks.glossary_problems(glossary, source.prose, target.prose)
    for word in glossary.forbidden:
        if word in target.prose:
            problems.append(f"glossary: '{word}' is not used in this language (see glossary.toml)")
    problems += i18n_checks.number_problems(source.prose, target.prose, lang)
    if not plain_text:
        problems += i18n_checks.list_problems(english, translation)
    return problems + i18n_checks.line_start_problems(translation)


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


def check(config: SiteConfig, langs: list[str], warnings: list[BuildError]) -> list[str]:
    """`file:line: message` for every problem in the translated, non-fuzzy entries, at the line
    where the translation starts (the catalogs' warnings added to `warnings`)."""
    root, problems = locale_dir(config), []
    for lang in langs:
        glossary = load_glossary(root / lang / "glossary.toml")
        for path in sorted((root / lang / "LC_MESSAGES").rglob("*.po")):
            data = read_po_bytes(path)
            catalog = parse_catalog(path, data, warnings)  # a malformed file stops here
            lines = po_lines(data.decode("utf-8"))  # it decodes: parse_catalog read it
            problems += [
                f"{path}:{line}: {problem}" for line, problem in duplicate_entries(catalog)
            ]
            for entry in catalog:
                if entry.obsolete or entry.fuzzy or not entry.msgid or not entry.msgstr:
                    continue
                line = (msgstr_lines(lines, entry) or (entry.linenum,))[0]
                # titles, summaries, and the title and figures' labels (site_texts)
                plain = entry.msgctxt in PLAIN_TEXT or path.stem == SITE_STEM
                found = check_translation(entry.msgid, entry.msgstr, glossary, plain, lang)
                if entry.msgctxt is None:  # the site's interface
                    found += placeholder_problems(entry.msgid, entry.msgstr)
                problems += [f"{path}:{line}: {problem}" for problem in found]
    return problems


def placeholder_problems(english: str, translation: str) -> list[str]:
    """A UI string is shown as it is, never formatted: a placeholder (`%s`, `%(name)s`) that its
    English lacks would show as it is written, and one it has must stay."""
    problem = _difference(
        "placeholders",
        Counter(m[0] for m in _PLACEHOLDER.finditer(english)),
        Counter(m[0] for m in _PLACEHOLDER.finditer(translation)),
    )
    return [problem] if problem else []


class LineProblem(NamedTuple):
    line: int
    problem: str


def duplicate_entries(catalog: polib.POFile) -> list[LineProblem]:
    """(first line, problem) for each entry of a catalog whose msgctxt an earlier entry has.

    With the same msgctxt and msgid, `msgfmt -c` rejects the file; with different msgids both
    load, but the site finds translations by msgctxt alone."""
    first_of_key: dict[tuple[str | None, str], int] = {}
    first_of_context: dict[str, int] = {}
    problems = []
    for entry in catalog:
        if entry.obsolete:
            continue
        context, msgid, line = entry.msgctxt, entry.msgid, entry.linenum or 0
        if (context, msgid) in first_of_key:
            what = (
                f"msgctxt {context!r} and its msgid are" if context else f"msgid {msgid[:40]!r} is"
            )
            first = first_of_key[context, msgid]
            problem = f"duplicate entry ({what} already at line {first}): msgfmt rejects"
            problems.append(LineProblem(line, problem + " the file; keep one"))
        elif context is not None and context in first_of_context:
            first = first_of_context[context]
            problem = f"msgctxt {context!r} is already at line {first}: the site uses one entry"
            problems.append(LineProblem(line, problem + " per msgctxt; keep one"))
        else:
            first_of_key[context, msgid] = line
            if context is not None:
                first_of_context[context] = line
    return problems


class TemplateLine(NamedTuple):
    file: str  # a template's name
    line: int


def ui_strings(templates: Path = UI_TEMPLATES) -> dict[str, TemplateLine]:
    """Every `_("...")` string of the Jinja templates, and every `gettext("...")` of the page
    layout code beside them (page.py), with its first `file:line`."""
    found: dict[str, TemplateLine] = {}
    for path in sorted(templates.glob("*.html")):
        with open(path, "rb") as file:
            for line, _function, message, _comments in babel_extract(file, ["_"], [], {}):
                if isinstance(message, str):
                    found.setdefault(message, TemplateLine(f"templates/{path.name}", line))
    layout = templates.parent / "page.py"
    if layout.is_file():
        with open(layout, "rb") as file:
            for number, _name, text, _notes in extract_python(file, {"gettext": None}, [], {}):
                if isinstance(text, str):
                    found.setdefault(text, TemplateLine(layout.name, number))
    return found


def add_language(pyproject: Path, lang: str) -> str | None:
    """Add `lang` to `languages` in `[tool.site_builder]`, keeping the rest of the file as it is.

    Returns None when done, else the line the user should add by hand.
    """
    document: tomlkit.TOMLDocument | None
    try:
        document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
        settings = document["tool"]["site_builder"]
    except (OSError, TOMLKitError, KeyError, TypeError):
        document = settings = None
    languages = [str(code) for code in (settings or {}).get("languages", ["en"])]
    languages += [] if lang in languages else [lang]
    line = tomlkit.dumps({"languages": languages}).strip()
    if document is None or settings is None:
        return line
    try:
        if "languages" not in settings:
            settings["languages"] = languages
        elif lang not in settings["languages"]:
            settings["languages"].append(lang)
    except (TOMLKitError, AttributeError):  # `languages` is there but not a list
        return line
    atomic_write(pyproject, tomlkit.dumps(document).encode("utf-8"))
    return None


GLOSSARY_HEADER = """\
{name} glossary, enforced by `site-builder i18n check {lang}`.
[terms]: when the English text uses the term (any case, plural or with/without a hyphen),
the translation must contain the target. `forbidden`: words that must never appear (wrong
translations you have seen, and the spellings you decided against).
A term whose English word also has another meaning is a table instead: `target` is the
translation and `except` lists English phrases in which the word does not count as the term:
  [terms.kernel]
  target = "..."
  except = ["GPU kernel"]"""


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
    document = tomlkit.document()
    name = Locale.parse(lang.replace("-", "_")).english_name
    for line in GLOSSARY_HEADER.format(name=name, lang=lang).splitlines():
        document.add(tomlkit.comment(line))
    document.add(tomlkit.nl())
    document.add("forbidden", tomlkit.array())
    terms = tomlkit.table()
    names = [term for term, targets in choices.items() if set(targets.values()) == {term}]
    if names:
        terms.add(tomlkit.comment("Names that stay as they are."))
        for term in names:
            terms.add(term, term)
    others = [term for term in choices if term not in names]
    if others:
        terms.add(
            tomlkit.comment("Translate these, then uncomment them (others' choices on the right).")
        )
    for term in others:
        seen = ", ".join(f"{code}: {target}" for code, target in choices[term].items())
        if exceptions[term]:
            seen += f"; except {', '.join(exceptions[term])}"
        terms.add(tomlkit.comment(f'{tomlkit.string(term).as_string()} = ""  # {seen}'))
    document.add("terms", terms)
    return tomlkit.dumps(document)


class NewLanguage(NamedTuple):
    written: list[Path]
    line_to_add: str | None  # to pyproject.toml by hand, where it could not be added


def new_language(config: SiteConfig, lang: str, warnings: list[BuildError]) -> NewLanguage:
    """Create `lang`'s catalogs (pages, and the site's interface unless site_builder ships it) and
    a glossary to start from, and configure the language; returns the files written and the
    line to add to pyproject.toml by hand, if it could not be added. A code the config would
    refuse is refused before anything is written."""
    if problem := language_code_problem(lang):
        raise BuildError("<command line>", None, problem)
    try:
        Locale.parse(lang.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise BuildError("<command line>", None, f"unknown language code '{lang}'") from None
    if lang == config.languages[0]:
        raise BuildError("<command line>", None, f"'{lang}' is the source language")
    written = update(config, [lang], warnings)
    glossary = locale_dir(config) / lang / "glossary.toml"
    if not glossary.is_file():
        atomic_write(glossary, glossary_skeleton(locale_dir(config), lang).encode("utf-8"))
        written.append(glossary)
    return NewLanguage(written, add_language(config.root / "pyproject.toml", lang))
