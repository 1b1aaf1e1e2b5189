"""Sources written to break the build, through the command line with --keep-going: each bad one
is one line naming its file and line, the others get their pages, and there is no traceback."""

import os
import subprocess
import sys
from pathlib import Path

from site_builder.paths import page_url

REPO = Path(__file__).resolve().parents[1]

GOOD = {
    # a comment before the docstring and another after it (asyncio/tasks.py, _aix_support.py)
    "typed.py": 'def wait(timeout):\n    # type: (float) -> bool\n    """Wait."""\n'
    "    # Poll once.\n    return True\n",
    # an expression deeper than the recursion limit
    "deep.py": "total = " + " + ".join(["a"] * 2000) + "\n",
    # a formula of 20,000 characters: a TeX error (a warning with --keep-going), cut short
    "long_formula.py": '"""Sum: $' + "x+" * 10_000 + 'x$."""\n',
}
BAD = {
    "rot13.py": (
        "# -*- coding: rot13 -*-\nx = 1\n",
        "rot13.py:1: cannot read: the declared encoding 'rot13' is not a text encoding",
    ),
    "bell.py": (
        '"""\n---\ntitle: Bell\nsummary: a \x07 bell\n---\n"""\n',
        "bell.py:4: invalid YAML front matter: character U+0007: ",
    ),
}


def test_each_bad_source_is_one_line_and_the_others_get_pages(tmp_path):
    source = tmp_path / "pkg"
    source.mkdir()
    for name, text in GOOD.items():
        (source / name).write_text(text, encoding="utf-8")
    for name, (text, _) in BAD.items():
        (source / name).write_text(text, encoding="utf-8")
    command = [sys.executable, "-m", "site_builder", "build", "--keep-going"]
    command += ["--source", str(source), "--out", str(tmp_path / "site")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert "Traceback" not in done.stderr and done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    for name, (_, message) in BAD.items():
        [line] = [line for line in lines if f"{name}:" in line]
        assert line.startswith("error: ") and message in line, line
        assert not (tmp_path / "site" / page_url(name)).exists()
    for name in GOOD:
        assert (tmp_path / "site" / page_url(name)).is_file(), name
    [tex] = [line for line in lines if "long_formula.py:1: TeX error" in line]
    assert tex.startswith("warning: ") and len(tex) < 300
    assert "the formula has 20,001 characters; at most 10,000" in tex
