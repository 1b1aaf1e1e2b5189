import subprocess
import sys
from pathlib import Path

import pytest
from conftest import tiny_files, write_tree

from site_builder.cli import main

PROJECT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", [[], ["build"], ["serve"], ["i18n"]])
def test_help_works_on_every_command(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    assert "usage: site-builder" in capsys.readouterr().out


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
