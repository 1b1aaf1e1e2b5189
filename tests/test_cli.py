import subprocess
import sys
from pathlib import Path

import pytest
from conftest import tiny_files, write_tree

from site_builder.cli import main

PROJECT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", [[], ["build"], ["serve"], ["gh-deploy"], ["i18n"]])
def test_help_works_on_every_command(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "usage: site-builder" in out
    if command in (["build"], ["serve"], ["gh-deploy"]):  # how to see an internal error's traceback
        assert "--debug" in out and "SITE_BUILDER_DEBUG=1" in out


HEAVY = {"markdown_it", "pygments", "jinja2", "babel", "polib", "site_builder.build",
         "site_builder.serve", "site_builder.i18n", "site_builder.deploy"}  # fmt: skip


@pytest.mark.parametrize("command", [[], ["build"], ["gh-deploy"], ["i18n"], ["i18n", "update"]])
def test_help_imports_none_of_the_libraries_behind_the_commands(command):
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "site_builder", *command, "--help"],
        env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "usage: site-builder" in done.stdout, done.stderr
    # `-X importtime` lists every module imported: "import time: self | cumulative | name"
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()}
    assert "site_builder.cli" in imported
    assert {name for name in imported if name.split(".")[0] in HEAVY or name in HEAVY} == set()


def test_each_command_imports_its_library_when_it_runs(tmp_path):
    """The lazy imports are real: `i18n status` on a project runs the i18n library."""
    write_tree(tmp_path, {k: v for k, v in tiny_files().items() if k.startswith("pkg/")})
    (tmp_path / "docs").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.site_builder]\nsource = "pkg"\ndocs = "docs"\nlanguages = ["en", "zh"]\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "site_builder", "i18n", "status", "--fail-under", "1"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "zh: 0.0% of the words translated, under 1.0%" in done.stdout


def test_build_from_flags_alone_with_python_m(tmp_path):
    write_tree(tmp_path, {k: v for k, v in tiny_files().items() if k.startswith("pkg/")})
    command = [sys.executable, "-m", "site_builder", "build", "--source", "pkg", "--out", "web",
               "--title", "Flags Only", "--languages", "en,zh"]  # fmt: skip
    env = {"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "10 pages (10 rendered)" in done.stdout
    assert "<title>Flags Only</title>" in (tmp_path / "web/index.html").read_text()
    assert (tmp_path / "web/zh/models/layer.html").is_file()


def test_bad_flag_value_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["build", "--source", "missing"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "source package" in err and "is not a directory" in err


NOOP_IMPORTS = """
import sys
from site_builder.cli import main
assert main(sys.argv[1:]) == 0
heavy = {"babel", "jinja2", "markdown_it", "nbformat", "pygments", "py_mini_racer", "yaml"}
# A module that site_builder.lazy deferred is in sys.modules, but not loaded until first used.
loaded = {name for name, module in sys.modules.items() if type(module).__name__ != "_LazyModule"}
print(sorted(heavy & {name.split(".")[0] for name in loaded}))
"""


def test_a_build_with_nothing_to_render_imports_no_rendering_library(tmp_path):
    write_tree(tmp_path, {k: v for k, v in tiny_files().items() if k.startswith("pkg/")})
    command = [sys.executable, "-c", NOOP_IMPORTS, "build", "--source", "pkg", "--out", "web"]
    env = {"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"}
    runs = [
        subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        for _ in range(2)
    ]
    assert all(run.returncode == 0 for run in runs), runs[0].stderr + runs[1].stderr
    first, noop = (run.stdout.splitlines() for run in runs)
    assert "(5 rendered)" in first[0] and first[-1] != "[]"
    assert "(0 rendered)" in noop[0] and noop[-1] == "[]"


def test_an_os_error_naming_an_odd_file_is_one_line(tmp_path, monkeypatch, capsys):
    """An error from the machine (here a file gone from under the build) names its file with
    the newline in its name escaped."""
    from site_builder import build

    write_tree(tmp_path, {k: v for k, v in tiny_files().items() if k.startswith("pkg/")})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        build, "build_site", lambda *args, **kwargs: Path("gone\nfile.py").read_bytes()
    )
    assert main(["build", "--source", "pkg"]) == 1
    err = capsys.readouterr().err
    assert err == "gone\\nfile.py: No such file or directory\n"


def test_exclude_flag_leaves_files_out(tmp_path, monkeypatch):
    write_tree(tmp_path, {k: v for k, v in tiny_files().items() if k.startswith("pkg/")})
    monkeypatch.chdir(tmp_path)
    assert main(["build", "--source", "pkg", "--exclude", "pkg/models/deep/, pkg/x.py"]) == 0
    assert (tmp_path / "site/models/layer.html").is_file()
    assert not (tmp_path / "site/models/deep").exists()


def test_look_flags_reach_the_site(tmp_path, monkeypatch):
    write_tree(tmp_path, {k: v for k, v in tiny_files().items() if k.startswith("pkg/")})
    write_tree(tmp_path, {"look/extra.css": ".mine{color:teal}\n", "logo.svg": "<svg/>"})
    monkeypatch.chdir(tmp_path)
    argv = ["build", "--source", "pkg", "--overrides", "look", "--logo", "logo.svg"]
    assert main(argv) == 0
    assert (tmp_path / "site/static/site.css").read_text().endswith(".mine{color:teal}\n")
    assert '<img src="static/logo.svg"' in (tmp_path / "site/index.html").read_text()
