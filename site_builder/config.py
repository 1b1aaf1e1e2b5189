"""Configuration: `[tool.site_builder]` in pyproject.toml, every key overridable from the CLI."""

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .files import digest
from .model import BuildError

KNOWN_KEYS = (
    "source", "title", "base_url", "repo_url", "issues_url", "languages", "docs", "out",
    "lesson", "draft_below", "complete_languages", "exclude", "overrides", "logo", "favicon",
)  # fmt: skip
# A language code as pages use it (`<html lang>`, hreflang, the folder in URLs): `zh`, `pt_BR`,
# `sr-Latn`. gettext's `@modifier` (`sr@latin`) is not one: a script subtag says the same.
PYGMENTS_STYLES = ("default", "github-dark")  # the code colours: light theme, dark theme
_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]+)*")


def language_code_problem(code: str) -> str | None:
    """Why `code` cannot be one of the site's languages (None when it can); `i18n new` and the
    config check share it, so a language that one adds the other accepts."""
    if _LANGUAGE_CODE.fullmatch(code):
        return None
    if "@" in code:
        return (
            f"'{code}': a gettext modifier (@...) cannot name a page's language; "
            "name the script instead, e.g. 'sr_Latn' for 'sr@latin'"
        )
    return f"'{code}' is not a language code like 'zh', 'pt_BR' or 'sr_Latn'"


@dataclass(frozen=True)
class SiteConfig:
    """Resolved settings; paths are absolute, `root` is the project root (pyproject's folder)."""

    root: Path
    source: Path
    out: Path
    docs: Path | None = None
    title: str = ""
    base_url: str = ""
    repo_url: str = ""
    languages: tuple[str, ...] = ("en",)
    lesson: tuple[str, ...] = ()  # site paths in reading order, for previous/next links
    issues_url: str = ""  # where a new issue is opened (title and body as query parameters)
    # A language with less than this percent of its English words translated is a draft: built
    # (for preview) but not offered to readers. `drafts` are those found so at build time
    # (`progress.with_drafts`).
    draft_below: float = 0.0
    complete_languages: tuple[str, ...] = ()  # kept at 100% (the test suite holds them to it)
    drafts: tuple[str, ...] = ()
    # gitignore-style patterns, relative to `root`, of files and folders that are not inputs
    # (the root's .gitignore adds its own: see `sources.excluded`)
    exclude: tuple[str, ...] = ()
    # The author's look: a folder whose templates replace the builder's of the same name, whose
    # `extra.css` follows the stylesheet and whose `static/` files are published under static/;
    # a logo shown in the header, a favicon.
    overrides: Path | None = None
    logo: Path | None = None
    favicon: Path | None = None

    @property
    def published_languages(self) -> tuple[str, ...]:
        """The languages offered to readers: the switcher, hreflang links and the sitemap."""
        return tuple(lang for lang in self.languages if lang not in self.drafts)

    @property
    def cache_dir(self) -> Path:
        return self.out.parent / ".site_builder_cache"

    @property
    def locale_dir(self) -> Path | None:
        return self.docs / "locale" if self.docs else None

    def digest_fields(self) -> tuple:
        """Everything in the config that changes rendered pages (paths relative to the root)."""
        docs = _relative(self.docs, self.root) if self.docs else ""
        return (
            _relative(self.source, self.root),
            docs,
            self.title,
            self.base_url,
            self.repo_url,
            self.languages,
            self.lesson,
            self.issues_url,
            self.drafts,
            self.exclude,
            self.look_digest(),
        )

    def look_digest(self) -> str:
        """Digest of the overrides folder's files, the logo and the favicon (names and bytes)."""
        files = [path for path in (self.logo, self.favicon) if path]
        if self.overrides:
            files += sorted(p for p in self.overrides.rglob("*") if p.is_file())
        return digest(*[(path.as_posix(), path.read_bytes()) for path in files])


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def find_pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _key_lines(text: str) -> dict[str, int]:
    """Line of each key inside the `[tool.site_builder]` table (1-based)."""
    lines: dict[str, int] = {}
    in_table = False
    for number, line in enumerate(text.splitlines(), 1):
        header = re.match(r"\s*\[+\s*([^\]]+?)\s*\]+", line)
        if header:
            in_table = header.group(1).replace('"', "") == "tool.site_builder"
            continue
        key = re.match(r"\s*([A-Za-z0-9_\-\"']+)\s*=", line)
        if in_table and key:
            lines.setdefault(key.group(1).strip("\"'"), number)
    return lines


def read_pyproject(path: Path) -> tuple[dict, dict[str, int]]:
    """The `[tool.site_builder]` table and each key's line; BuildError on bad TOML or keys."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BuildError(path, None, f"cannot read: {error}") from None
    try:
        table = tomllib.loads(text).get("tool", {}).get("site_builder", {})
    except tomllib.TOMLDecodeError as error:
        line = re.search(r"line (\d+)", str(error))
        raise BuildError(
            path, int(line.group(1)) if line else None, f"invalid TOML: {error}"
        ) from None
    lines = _key_lines(text)
    for key in table:
        if key not in KNOWN_KEYS:
            known = ", ".join(KNOWN_KEYS)
            message = f"unknown key '{key}' in [tool.site_builder]; known: {known}"
            raise BuildError(path, lines.get(key), message)
    return table, lines


def _check_types(settings: dict, origin: Path | str, lines: dict[str, int]) -> None:
    for key, value in settings.items():
        if key == "draft_below":
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or not 0 <= value <= 100:
                message = "'draft_below' must be a percentage from 0 to 100"
                raise BuildError(origin, lines.get(key), message)
        elif key == "complete_languages":
            listed = isinstance(value, list) and all(isinstance(v, str) for v in value)
            if not listed or not set(value) <= set(settings.get("languages", value)):
                message = "'complete_languages' must list some of the 'languages'"
                raise BuildError(origin, lines.get(key), message)
        elif key == "languages":
            ok = isinstance(value, list) and value and all(isinstance(v, str) for v in value)
            if not ok:
                message = "'languages' must be a non-empty list of language codes like ['en', 'zh']"
                raise BuildError(origin, lines.get(key), message)
            for code in value:
                if problem := language_code_problem(code):
                    raise BuildError(origin, lines.get(key), f"'languages': {problem}")
        elif key == "exclude":
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                message = "'exclude' must be a list of patterns like ['tests/', 'setup.py']"
                raise BuildError(origin, lines.get(key), message)
        elif key == "lesson":
            pages = value if isinstance(value, list) else []
            paths = [v for v in pages if isinstance(v, str) and v.endswith(".html")]
            if not isinstance(value, list) or len(paths) < len(pages):
                message = "'lesson' must be a list of page paths like ['a/index.html', 'a/b.html']"
                raise BuildError(origin, lines.get(key), message)
            if len(set(paths)) < len(paths):
                message = "'lesson' lists a page twice"
                raise BuildError(origin, lines.get(key), message)
        elif not isinstance(value, str):
            raise BuildError(origin, lines.get(key), f"'{key}' must be a string")


def load_config(overrides: dict | None = None, start: Path | None = None) -> SiteConfig:
    """Merge pyproject's `[tool.site_builder]` (found from `start` upwards) with CLI overrides.

    Paths in pyproject are relative to its folder; paths given as overrides are relative to `start`.
    """
    start = (start or Path.cwd()).resolve()
    overrides = {key: value for key, value in (overrides or {}).items() if value is not None}
    unknown = sorted(set(overrides) - set(KNOWN_KEYS))
    if unknown:
        raise BuildError("<command line>", None, f"unknown setting(s): {', '.join(unknown)}")
    pyproject = find_pyproject(start)
    table, lines = read_pyproject(pyproject) if pyproject else ({}, {})
    _check_types(table, pyproject or "pyproject.toml", lines)
    _check_types(overrides, "<command line>", {})
    root = pyproject.parent if pyproject and table else start

    def path_of(key: str) -> Path | None:
        if key in overrides:
            return (start / overrides[key]).resolve()
        if key in table:
            return (root / table[key]).resolve()
        return None

    source = path_of("source")
    if source is None:
        raise BuildError("<command line>", None, "no source package: pass --source DIR")
    if not source.is_dir():
        origin, line = _origin("source", overrides, pyproject, lines)
        raise BuildError(origin, line, f"source package '{source}' is not a directory")
    docs = path_of("docs")
    if docs is not None and not docs.is_dir():
        origin, line = _origin("docs", overrides, pyproject, lines)
        raise BuildError(origin, line, f"docs folder '{docs}' is not a directory")
    look = {}
    for key, kind in (("overrides", "folder"), ("logo", "file"), ("favicon", "file")):
        path = path_of(key)
        if path is not None and not (path.is_dir() if kind == "folder" else path.is_file()):
            origin, line = _origin(key, overrides, pyproject, lines)
            raise BuildError(origin, line, f"{key} '{path}' is not a {kind}")
        look[key] = path
    settings = {**table, **overrides}
    languages = tuple(settings.get("languages", ["en"]))
    base_url, repo_url = (
        _site_url(key, settings.get(key, ""), *_origin(key, overrides, pyproject, lines))
        for key in ("base_url", "repo_url")
    )
    return SiteConfig(
        root=root,
        source=source,
        out=path_of("out") or (root / "site").resolve(),
        docs=docs,
        title=settings.get("title") or source.name,
        base_url=base_url,
        repo_url=repo_url,
        languages=languages,
        lesson=tuple(page.lstrip("/") for page in settings.get("lesson", [])),
        exclude=tuple(settings.get("exclude", [])),
        overrides=look["overrides"],
        logo=look["logo"],
        favicon=look["favicon"],
        issues_url=settings.get("issues_url", new_issue_url(repo_url)),
        draft_below=float(settings.get("draft_below", 0)),
        # `--languages` may leave some out
        complete_languages=tuple(
            c for c in settings.get("complete_languages", []) if c in languages
        ),
    )


def _origin(
    key: str, overrides: dict, pyproject: Path | None, lines: dict[str, int]
) -> tuple[Path | str, int | None]:
    """Where a setting was given: the command line, or its line in pyproject.toml."""
    if key in overrides or pyproject is None:
        return "<command line>", None
    return pyproject, lines.get(key)


def _site_url(key: str, url: str, origin: Path | str, line: int | None) -> str:
    """`url` ending in a slash (pages are joined to it); BuildError unless it is an http(s) URL
    with a host. "" stays "" (the setting is optional)."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        message = f"'{key}' must be an http(s) URL with a host, like 'https://example.org/'"
        raise BuildError(origin, line, f"{message}; got '{url}'")
    return url if url.endswith("/") else url + "/"


def new_issue_url(repo_url: str) -> str:
    """The page that opens a new issue, for a GitHub-style `repo_url`
    (`https://github.com/owner/repo/blob/main/` -> `https://github.com/owner/repo/issues/new`),
    which takes the issue's `title` and `body` as query parameters; "" for other URLs (set
    `issues_url` for those)."""
    found = re.fullmatch(r"(https://[^/]+/[^/]+/[^/]+)/(?:blob|tree)/.*", repo_url)
    return f"{found.group(1)}/issues/new" if found and "/-/" not in repo_url else ""
