"""The benchmark corpus: deterministic, as large as promised, parsed losslessly, and it builds.
And real packages we did not write build with --keep-going, a page for every module."""

import ast
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import sysconfig
import tokenize
import warnings
from pathlib import Path

import pytest
from conftest import snapshot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from corpus import edit_one_comment, generate_corpus  # noqa: E402

from site_builder.build import build_site
from site_builder.config import load_config  # noqa: E402
from site_builder.parse import parse_module  # noqa: E402
from site_builder.paths import page_url  # noqa: E402

TINY = 12


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus") / "zoo"
    return root, generate_corpus(root, TINY, seed=3)


def test_same_seed_same_bytes_and_another_seed_differs(tmp_path):
    def files(seed: int, name: str) -> dict[str, bytes]:
        root = tmp_path / name
        generate_corpus(root, TINY, seed)
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.py")}

    first = files(1, "a")
    assert len(first) == TINY
    assert files(1, "b") == first
    assert files(2, "c") != first


def test_default_size_meets_the_benchmark_spec(tmp_path):
    stats = generate_corpus(tmp_path / "zoo", 220)
    assert stats.modules >= 200 and stats.readmes >= 20
    assert len(stats.files) == stats.modules + stats.readmes
    assert sorted(
        p.relative_to(tmp_path / "zoo").as_posix() for p in (tmp_path / "zoo").rglob("*.md")
    ) == sorted(f for f in stats.files if f.endswith("/readme.md"))
    assert stats.lines >= 40_000
    assert 10 <= stats.lines / stats.math_spans <= 14  # the real corpus: 3,349 in 39k lines
    assert 0.5 * stats.math_spans < stats.distinct_math < stats.math_spans  # mostly distinct
    assert stats.display_math > 100 and stats.tables > 100 and stats.anchor_links > 500
    depths = {f.count("/") for f in stats.files}
    assert depths == {0, 1, 2}, "packages should nest root / topic / subpackage"


def parse_quietly(source: str) -> ast.Module:
    """The module's syntax tree; invalid escapes such as `\\s` in a plain docstring are a warning
    from Python, not an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source)


def commentary_lines(source: str) -> set[int]:
    """Lines of full-line comments and of standalone docstrings."""
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and token.line.strip().startswith("#"):
            lines.add(token.start[0])
    for node in ast.walk(parse_quietly(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def test_docstrings_hold_tex_in_plain_strings_as_authors_write_them(tiny_corpus):
    """Not raw strings: Python reads `\\frac` in them as an escape, the builder as written."""
    root, stats = tiny_corpus
    docstrings = []
    for rel in stats.python_files:
        source = (root / rel).read_text(encoding="utf-8")
        for node in ast.walk(parse_quietly(source)):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and node.body:
                first = node.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                    docstrings.append(ast.get_source_segment(source, first))
    assert docstrings and all(d.startswith('"""') for d in docstrings)
    assert sum("\\" in d and "$" in d for d in docstrings) > len(docstrings) / 4


def test_every_code_line_survives_parsing_once_in_order(tiny_corpus):
    root, stats = tiny_corpus
    for rel in stats.python_files:
        source = (root / rel).read_text(encoding="utf-8")
        source_lines = source.splitlines()
        module = parse_module(root / rel, rel)
        code = [pair for section in module.sections for pair in section.code]
        numbers = [n for n, _ in code]
        assert numbers == sorted(set(numbers)), f"{rel}: code lines repeated or out of order"
        for number, text in code:
            assert text == source_lines[number - 1], f"{rel}:{number} changed in parsing"
        commentary = commentary_lines(source)
        expected = {n for n, line in enumerate(source_lines, 1) if line.strip()} - commentary
        assert expected <= set(numbers), f"{rel}: lost lines {sorted(expected - set(numbers))}"
        assert not commentary & set(numbers), f"{rel}: commentary left in the code"
        assert module.title and module.summary, f"{rel}: front matter not read"
        ids = [section.id for section in module.sections]
        assert len(ids) == len(set(ids)), f"{rel}: duplicate section ids"


def test_corpus_builds_with_all_math_and_links(tiny_corpus, tmp_path):
    root, stats = tiny_corpus
    config = load_config({"source": str(root), "out": str(tmp_path / "site")}, start=tmp_path)
    report = build_site(config)  # a broken link, anchor or TeX error would raise
    assert report.pages_total == len(stats.files) == stats.modules + stats.readmes
    assert len(report.pages_rendered) == len(stats.files)
    html = "".join((tmp_path / "site" / page_url(f)).read_text() for f in stats.files)
    assert html.count('class="katex"') == stats.math_spans
    assert html.count('class="katex-display"') == stats.display_math

    edited = root / stats.files[-1]
    before = edited.read_text(encoding="utf-8").splitlines()
    edit_one_comment(edited, "test")
    changed = [n for n, line in enumerate(edited.read_text().splitlines()) if line != before[n]]
    assert len(changed) == 1 and before[changed[0]].lstrip().startswith("# ")
    again = build_site(config)
    assert again.pages_rendered == [page_url(stats.files[-1])]


# From the standard library and from installed packages: code written to no convention of ours.
REAL_PACKAGES = ["json", "email", "logging", "http", "markdown_it", "pygments", "jinja2"]
REPO = Path(__file__).resolve().parents[1]


def package_folder(name: str) -> Path:
    return Path(next(iter(importlib.util.find_spec(name).submodule_search_locations)))


@pytest.mark.slow
def test_real_packages_get_a_page_for_every_module(tmp_path):
    """One `build --keep-going` over the seven packages side by side (copies, in one tree, so
    that the build pays for one interpreter, one KaTeX and one search index): every module gets
    a page, nothing is skipped, no traceback, exit status 0 with warnings only."""
    source = tmp_path / "real"
    for name in REAL_PACKAGES:
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(package_folder(name), source / name, ignore=ignore)
    before = snapshot(source)
    modules = sorted(p.relative_to(source).as_posix() for p in source.rglob("*.py"))
    for name in REAL_PACKAGES:
        assert any(m.startswith(name + "/") for m in modules), name
    assert_every_module_paged(source, tmp_path, modules)
    assert snapshot(source) == before, "the build wrote into its source"


def assert_every_module_paged(source: Path, work: Path, modules: list[str]) -> None:
    """`build --keep-going` of `source` into `work/site`: a page for each of `modules`, nothing
    skipped, no traceback, exit status 0 with warnings only."""
    command = [sys.executable, "-m", "site_builder", "build", "--keep-going"]
    command += ["--source", str(source), "--out", str(work / "site")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-5000:]
    assert done.returncode == 0, done.stderr[-5000:]
    problems = [line for line in done.stderr.splitlines() if not line.startswith("warning: ")]
    assert problems[:-1] == [], done.stderr[-5000:]  # only warnings, then their count
    missing = [m for m in modules if not (work / "site" / page_url(m)).is_file()]
    assert not missing, missing
    assert done.stdout.startswith(f"{len(modules)} pages ({len(modules)} rendered)"), done.stdout


TEST_FOLDERS = {"test", "tests", "idle_test"}  # lib2to3/tests, idlelib/idle_test, ...


def stdlib_modules(stdlib: Path) -> list[Path]:
    """The standard library's modules outside its test folders (and outside site-packages) that
    Python can parse, as `ast.parse` reads their bytes (their declared encoding included)."""
    found = []
    for path in sorted(stdlib.rglob("*.py")):
        folders = path.relative_to(stdlib).parts[:-1]
        if TEST_FOLDERS.intersection(folders) or {"site-packages", "dist-packages"} & set(folders):
            continue
        try:
            parse_quietly(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        found.append(path)
    return found


@pytest.mark.slow
def test_the_standard_library_gets_a_page_for_every_module(tmp_path):
    """`build --keep-going` over a copy of the standard library (the build walks its source and
    keeps a cache beside its output): every module Python can parse gets a page, no page is
    skipped and there is no traceback, only warnings."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    source = tmp_path / "stdlib"
    modules = [path.relative_to(stdlib).as_posix() for path in stdlib_modules(stdlib)]
    assert len(modules) > 500
    for rel in modules:
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stdlib / rel, source / rel)
    assert_every_module_paged(source, tmp_path, modules)
