"""Each kind of bad input: one `file:line: message` line, exit 1, the previous site untouched."""

import os
import socket

import pytest
from conftest import snapshot, tiny_files, write_tree

from site_builder.cli import main

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
