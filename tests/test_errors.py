"""Each kind of bad input: one `file:line: message` line, exit 1, the previous site untouched."""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import snapshot, tiny_files, write_tree

from site_builder.cli import main
from site_builder.config import load_config

PROJECT = Path(__file__).resolve().parents[1]

PYPROJECT = """[tool.site_builder]
source = "pkg"
docs = "docs"
out = "site"
title = "Tiny"
"""

SYNTAX = '"""\n---\ntitle: Broken\n---\n"""\n\ndef f(:\n    pass\n'
YAML = '"""\n---\ntitle: a: b\n---\nIntro.\n"""\n\nx = 1\n'
TEX = "x = 1\n# Bad $\\frac{1}{$ math.\ny = 2\n"
IMAGE = "x = 1\n\n# A figure:\n#\n# ![plot](missing.png)\ny = 2\n"
LINK = "x = 1\n# See [the page](nope.html).\ny = 2\n"
ANCHOR = "---\ntitle: Notes\n---\nBack to the [layer](layer.html#NoSuchSection).\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    write_tree(tmp_path, {**tiny_files(), "pyproject.toml": PYPROJECT})
    monkeypatch.chdir(tmp_path)
    assert main(["build"]) == 0
    return tmp_path


def break_and_build(project, capsys, files):
    before = snapshot(project / "site")
    capsys.readouterr()
    write_tree(project, files)
    code = main(["build"])
    err = capsys.readouterr().err
    assert code == 1
    assert snapshot(project / "site") == before
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".site")) == [
        ".site_builder_cache"
    ]
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"pkg/models/layer.py": SYNTAX}, "pkg/models/layer.py:7: syntax error"),
        ({"pkg/models/layer.py": YAML}, "pkg/models/layer.py:3: invalid YAML front matter"),
        ({"pkg/extra.py": TEX}, "pkg/extra.py:2: TeX error in '\\\\frac{1}{': KaTeX parse error"),
        ({"pkg/extra.py": IMAGE}, "pkg/extra.py:5: missing image 'missing.png'"),
        ({"pkg/extra.py": LINK}, "pkg/extra.py:2: broken link 'nope.html'"),
        (
            {"pkg/models/notes.md": ANCHOR},
            "pkg/models/notes.md:4: broken link 'layer.html#NoSuchSection': "
            "no id 'NoSuchSection' in 'models/layer.html'",
        ),
        (
            {"pyproject.toml": PYPROJECT + 'colour = "red"\n'},
            "pyproject.toml:6: unknown key 'colour' in [tool.site_builder]; known: source,",
        ),
        ({"pkg/extra.py": b"x = '\xff\xfe'\n"}, "pkg/extra.py:1: cannot read"),
    ],
)
def test_bad_input_reports_one_line_and_keeps_the_previous_site(project, capsys, files, expected):
    assert break_and_build(project, capsys, files).startswith(expected)


def test_dangling_file_is_unreadable(project, capsys):
    os.symlink(project / "pkg/nowhere.py", project / "pkg/ghost.py")
    assert break_and_build(project, capsys, {}).startswith("pkg/ghost.py: cannot read")


def test_keep_going_exits_zero_and_counts_warnings(project, capsys):
    write_tree(project, {"pkg/extra.py": LINK})
    assert main(["build", "--keep-going"]) == 0
    err = capsys.readouterr().err
    assert "warning: pkg/extra.py:2: broken link 'nope.html'" in err
    assert "1 warning(s)" in err
    assert (project / "site/extra.html").is_file()


def one_line_failure(capsys, argv) -> str:
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_out_that_is_a_file_is_refused_and_left_untouched(project, capsys):
    (project / "notes.txt").write_text("keep me")
    err = one_line_failure(capsys, ["build", "--out", "notes.txt"])
    assert err == "notes.txt: exists and is not a folder; refusing to replace it"
    assert (project / "notes.txt").read_text() == "keep me"
    assert not [p.name for p in project.iterdir() if ".staging-" in p.name]


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        ("/", "/: is the filesystem root; refusing to write the site there"),
        ("pkg", "pkg: is the input folder '{root}/pkg'; refusing to write the site over it"),
        ("docs", "docs: is the input folder '{root}/docs'; refusing to write the site over it"),
        (".", ".: holds the input folder '{root}/pkg'; refusing to write the site over it"),
        ("..", "{parent}: holds the input folder '{root}/pkg'; refusing to write the site over it"),
    ],
)
@pytest.mark.parametrize("command", ["build", "serve"])
def test_out_that_would_replace_the_inputs_or_the_root_is_refused(
    project, capsys, out, expected, command
):
    root_entries = sorted(os.listdir("/"))
    before = snapshot(project)
    err = one_line_failure(capsys, [command, "--out", out])
    assert err == expected.format(root=project, parent=project.parent)
    assert snapshot(project) == before and sorted(os.listdir("/")) == root_entries


@pytest.mark.parametrize(
    ("port", "expected"),
    [
        ("70000", "<command line>: --port must be 0 to 65535, not 70000"),
        ("-1", "<command line>: --port must be 0 to 65535, not -1"),
        ("{busy}", "<command line>: cannot serve on 127.0.0.1:{busy}: Address already in use"),
    ],
)
def test_serve_on_a_bad_port_says_so_in_one_line(project, capsys, port, expected):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        err = one_line_failure(capsys, ["serve", "--port", port.format(busy=busy)])
    assert err == expected.format(busy=busy)


def test_keep_going_skips_each_broken_page_lists_it_and_exits_one(project, capsys):
    os.symlink(project / "pkg/nowhere.py", project / "pkg/ghost.py")  # dangling, inside the tree
    write_tree(
        project,
        {
            "pkg/models/layer.py": SYNTAX,  # linked from the home page and from the notes
            "pkg/models/bad_yaml.py": YAML,
            "pkg/latin.py": b"x = 1\ns = '\xff'\n",
            "pkg/models/deep/inner/module.md": "# A twin of module.py\n",
        },
    )
    capsys.readouterr()
    assert main(["build", "--keep-going"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    expected = [
        "error: pkg/ghost.py: cannot read: No such file or directory",
        "error: pkg/latin.py:2: cannot read: not valid utf-8 (byte 11)",
        "error: pkg/models/bad_yaml.py:3: invalid YAML front matter",
        "error: pkg/models/deep/inner/module.py: maps to 'models/deep/inner/module.html', the "
        "same page as",
        "error: pkg/models/layer.py:7: syntax error",
    ]
    assert len(errors) == len(expected), err
    for line, start in zip(errors, expected, strict=True):
        assert line.startswith(start) and line.endswith(" (page skipped)"), line
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert [w.split(": broken link")[0] for w in warnings] == [
        "warning: pkg/__init__.py:6",
        "warning: pkg/models/notes.md:5",
    ], err
    assert err.splitlines()[-1] == "5 error(s), pages skipped, 2 warning(s)"
    site = project / "site"
    for page in ["index.html", "models/index.html", "models/notes.html", "guide.html"]:
        assert (site / page).is_file(), page
    assert "A twin of module.py" in (site / "models/deep/inner/module.html").read_text()
    for page in ["models/layer.html", "models/bad_yaml.html", "latin.html", "ghost.html"]:
        assert not (site / page).exists(), page


def test_warnings_alone_leave_the_exit_status_zero(project, capsys):
    extra = '"""\n---\ntitle: Extra\nredirect: elsewhere.html\n---\nRatio $\\frac{a}{b}$.\n"""\n'
    write_tree(project, {"pkg/extra.py": extra})
    capsys.readouterr()
    assert main(["build"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "warning: pkg/extra.py:4: front matter key 'redirect' is not used " + (
        "(only title and summary are)"
    )
    assert err[1].startswith("warning: pkg/extra.py:6: docstring read as written in the file")
    assert err[2:] == ["2 warning(s)"]
    assert "<mfrac>" in (project / "site/extra.html").read_text()


# A bug in one page's stage (here made by replacing the stage with one that fails for
# pkg/extra.py: a path, a module or a page among its arguments names it), in this process or in a
# forked worker; `CRASH_PIDS` collects the processes it failed in.
CRASH_CHILD = """
import os, sys
from pathlib import Path
import {module} as stage

def names(arg):
    if isinstance(arg, (str, Path)):
        return str(arg)
    return getattr(arg, "rel_path", None) or getattr(getattr(arg, "source", None), "rel_path", "")

def crash(*args, **kwargs):
    if any("extra" in names(arg) for arg in args):
        with Path(os.environ["CRASH_PIDS"]).open("a") as pids:
            pids.write(f"{{os.getpid()}}\\n")
        return [][0]
    return real(*args, **kwargs)

real = getattr(stage, "{name}")
setattr(stage, "{name}", crash)
from site_builder.cli import main
from site_builder.config import load_config
print(f"main {{os.getpid()}}", file=sys.stderr)
sys.exit(main(sys.argv[1:]))
"""

INTERNAL = "pkg/extra.py: internal error (IndexError: list index out of range); please report it"


@pytest.mark.parametrize(
    ("stage", "workers"),
    [
        ("site_builder.sources._read", "1"),  # reading
        ("site_builder.parse.parse_source", "2"),
        ("site_builder.translate.translate_module", "1"),
        ("site_builder.build.module_symbols", "1"),
        ("site_builder.render.render_source", "2"),
        ("site_builder.build.module_notebook", "1"),
        ("site_builder.build.page_layout", "2"),
    ],
)
def test_a_bug_in_one_page_is_one_line_and_keep_going_skips_it(project, stage, workers):
    module, name = stage.rsplit(".", 1)
    write_tree(project, {"pkg/extra.py": "x = 1\n# Extra.\ny = 2\n"})
    shutil.rmtree(project / ".site_builder_cache")  # every page is made again: many, in workers
    before = snapshot(project / "site")
    pids = project / "pids.txt"
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT),
        "SITE_BUILDER_WORKERS": workers,
        "CRASH_PIDS": str(pids),
    }
    env.pop("SITE_BUILDER_DEBUG", None)
    script = CRASH_CHILD.format(module=module, name=name)

    def build(*flags: str, debug: str = "", forked: bool = False) -> tuple[int, list[str]]:
        done = subprocess.run(
            [sys.executable, "-c", script, "build", *flags],
            cwd=project,
            env={**env, "SITE_BUILDER_DEBUG": debug},
            capture_output=True,
            text=True,
            timeout=180,
        )
        main_pid, *lines = done.stderr.splitlines()
        if forked:  # the bug was met in a forked worker, not in the main process
            assert main_pid.split()[1] not in pids.read_text().split(), done.stderr
        return done.returncode, lines

    code, err = build(forked=workers == "2")  # a cold build: every page, in workers
    assert (code, err) == (1, [INTERNAL])  # no traceback
    assert snapshot(project / "site") == before  # the previous site is left as it was

    code, err = build("--keep-going")
    assert code == 1 and f"error: {INTERNAL} (page skipped)" in err
    # (A page skipped after the parse is still in the home page's list: a broken link warning.)
    assert err[-1].startswith("1 error(s), pages skipped") and "Traceback" not in str(err)
    assert not (project / "site/extra.html").exists()
    assert (project / "site/models/layer.html").is_file()

    for flags, debug in [(["--debug"], ""), ([], "1")]:
        code, err = build(*flags, debug=debug)
        assert code == 1 and err[0] == INTERNAL and err[1].startswith("Traceback"), err
        assert "IndexError: list index out of range" in err and "in crash" in "\n".join(err)


def test_a_file_name_that_is_not_utf8_is_skipped_with_one_warning(project, capsys):
    with open(os.path.join(os.fsencode(project / "pkg"), b"latin\xe9.py"), "w") as file:
        file.write("x = 1\n")
    capsys.readouterr()
    assert main(["build"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "warning: pkg/latin\\udce9.py: the file name is not UTF-8; skipped (rename the file "
        "to publish it)",
        "1 warning(s)",
    ]
    assert (project / "site/models/layer.html").is_file()


ODD_NAMES = ["a#b", "q?r", "100%", "50%41", "tab\tx", "new\nline", "spa ce"]


def test_odd_file_names_get_percent_encoded_links_and_one_line_messages(project, capsys):
    write_tree(
        project, {f"pkg/odd/{name}.py": f"x = 1\n# {name!r}.\ny = 2\n" for name in ODD_NAMES}
    )
    write_tree(project, {"pkg/odd/__init__.py": '"""\n---\ntitle: Odd\n---\nOdd names.\n"""\n'})
    capsys.readouterr()
    assert main(["build"]) == 0, capsys.readouterr().err  # no broken link
    listing = (project / "site/index.html").read_text()
    for name in ODD_NAMES:
        assert (project / f"site/odd/{name}.html").is_file(), name
        assert f'href="odd/{quote(name)}.html"' in listing, name
    # The notebook link, and a link the crumbs make up to the folder's page.
    page = (project / "site/odd/a#b.html").read_text()
    assert 'href="a%23b.ipynb"' in page and 'href="index.html">Odd</a>' in page

    write_tree(project, {"pkg/odd/new\nline.py": "x = 1\n# See [x](nowhere.html).\ny = 2\n"})
    err = break_and_build(project, capsys, {})
    assert (
        err == "pkg/odd/new\\nline.py:2: broken link 'nowhere.html': no page or file at that path"
    )


def test_a_bug_outside_the_pages_is_one_line_too(project, capsys, monkeypatch):
    from site_builder import build

    def site_outputs(*args):
        raise KeyError("boom")

    monkeypatch.setattr(build, "site_outputs", site_outputs)
    monkeypatch.delenv("SITE_BUILDER_DEBUG", raising=False)
    layer = project / "pkg/models/layer.py"
    edited = {"pkg/models/layer.py": layer.read_text().replace("Keep", "Mind")}
    err = break_and_build(project, capsys, edited)
    assert err == "internal error (KeyError: 'boom'); please report it"
    assert main(["build", "--debug"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("internal error (KeyError: 'boom')") and "Traceback" in err


def test_an_internal_error_has_one_format_in_build_and_serve(project, capsys, monkeypatch):
    """Outside a page, the line of `build` and of a `serve` rebuild are the same: no file, the
    message on one line and cut to 300 characters."""
    from site_builder import build
    from site_builder.serve import PreviewServer

    def site_outputs(*args):
        raise ValueError("first\nsecond " + "x" * 400)

    monkeypatch.setattr(build, "site_outputs", site_outputs)
    monkeypatch.delenv("SITE_BUILDER_DEBUG", raising=False)
    layer = project / "pkg/models/layer.py"
    err = break_and_build(project, capsys, {"pkg/models/layer.py": layer.read_text() + "# x\n"})
    cut = ("first\\nsecond " + "x" * 400)[:300]
    assert err == f"internal error (ValueError: {cut}); please report it"
    server = PreviewServer(load_config({}), port=0)
    try:
        assert server.rebuild() is None
    finally:
        server.httpd.server_close()
    assert capsys.readouterr().err.strip() == err == server.announcer.error


def test_without_keep_going_every_error_is_listed_and_nothing_written(project, capsys):
    before = snapshot(project / "site")
    capsys.readouterr()
    write_tree(project, {"pkg/extra.py": LINK, "pkg/more.py": TEX, "pkg/models/notes.md": ANCHOR})
    assert main(["build"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("pkg/extra.py:2: broken link 'nope.html'")
    assert err[1].startswith("pkg/models/notes.md:4: broken link 'layer.html#NoSuchSection'")
    assert err[2].startswith("pkg/more.py:2: TeX error")
    assert err[3:] == ["3 errors; nothing was written"]
    assert snapshot(project / "site") == before
    write_tree(project, {"pkg/models/layer.py": SYNTAX, "pkg/models/deep/inner/module.py": YAML})
    assert main(["build"]) == 1  # pages left out: links to them wait for the next build
    err = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in err[:-1]] == [
        "pkg/models/deep/inner/module.py",
        "pkg/models/layer.py",
        "pkg/more.py",
    ], err
