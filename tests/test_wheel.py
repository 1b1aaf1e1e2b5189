"""The generator as an outside author gets it: its wheel, installed into a fresh virtual
environment with no Node on the PATH, builds a small package with math and search.

The wheel's dependencies are installed at the versions requirements/lock.txt pins (as
constraints: the wheel's own metadata says what it needs, the lock only which versions), from the
package index or pip's cache, as `make` installed them."""

import json
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow

PACKAGE = {
    "pyproject.toml": """
        [tool.site_builder]
        source = "vectors"
        title = "Vectors, annotated"
        languages = ["en", "zh"]
        """,
    "vectors/__init__.py": '''
        """
        ---
        title: Vectors
        summary: A small annotated package.
        ---
        The [norm](norm.html) of a vector $x$ is $$\\lVert x \\rVert = \\sqrt{\\sum_i x_i^2}$$
        """
        ''',
    "vectors/norm.py": '''
        """
        ---
        title: Norm
        summary: The Euclidean norm.
        ---
        Squares, summed, then the square root: $\\sqrt{a^2 + b^2}$ for two coordinates.
        """

        import math


        def norm(xs: list[float]) -> float:
            # Add up the squares $x_i^2$ of the hypotenuse's legs.
            return math.sqrt(sum(x * x for x in xs))
        ''',
}


def run(command: list, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{command}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["-w", str(out), str(REPO)]
    )
    [built] = out.glob("site_builder-*.whl")
    return built


def test_the_wheel_holds_the_generator_katex_and_the_licences_but_no_content(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {
        "site_builder",
        wheel.name.split("-py3")[0] + ".dist-info",
    }
    assert "site_builder/katex/dist/katex.min.js" in names
    assert "site_builder/katex/dist/katex.min.css" in names
    assert any(
        re.fullmatch(r"site_builder/katex/dist/fonts/KaTeX_\w+-\w+\.woff2", n) for n in names
    )
    licences = [n for n in names if "/licenses/" in n]
    assert sorted(Path(n).as_posix().split("/licenses/")[1] for n in licences) == [
        "LICENSE",
        "site_builder/katex/LICENSE",
    ]
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("/METADATA")))
    text = metadata.decode()
    assert "Name: site-builder\n" in text and "License-Expression: MIT\n" in text
    assert "Project-URL: " in text and "ConvMixer" not in text
    required = re.findall(r"^Requires-Dist: ([\w.-]+)", text, re.M)
    assert "pagefind-bin-extended" in required and "torch" not in required


def test_installed_with_no_node_it_builds_math_and_search(wheel, tmp_path):
    venv = tmp_path / "venv"
    dropped = ("PYTHONPATH", "SITE_BUILDER_KATEX", "SITE_BUILDER_PAGEFIND", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["PATH"] = str(venv / "bin")  # no node, npm or npx
    run([sys.executable, "-m", "venv", str(venv)], env=env)
    python = venv / "bin" / "python"
    pins = tmp_path / "pins.txt"
    lock = (REPO / "requirements" / "lock.txt").read_text(encoding="utf-8")
    pins.write_text("\n".join(re.findall(r"^[A-Za-z0-9][\w.-]*==\S+", lock, re.M)) + "\n")
    run([python, "-m", "pip", "install", "-q", "-c", str(pins), str(wheel)], cwd=tmp_path, env=env)

    project = tmp_path / "author"
    for rel, text in PACKAGE.items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    site_builder = str(venv / "bin" / "site-builder")

    version = wheel.name.split("-")[1]
    assert run([site_builder, "--version"], env=env).stdout.strip() == f"site-builder {version}"
    run([site_builder, "build"], cwd=project, env=env)

    site = project / "site"
    home = (site / "index.html").read_text(encoding="utf-8")
    assert home.count('class="katex-display"') == 1 and "<math" in home
    assert '<span class="katex"' in (site / "zh" / "norm.html").read_text(encoding="utf-8")
    assert (site / "static" / "katex" / "katex.min.css").is_file()
    assert list((site / "static" / "katex" / "fonts").glob("*.woff2"))
    entry = json.loads((site / "pagefind" / "pagefind-entry.json").read_text(encoding="utf-8"))
    assert {lang: e["page_count"] for lang, e in entry["languages"].items()} == {"en": 2, "zh": 2}

    for module in ("labml_like", "torch"):
        done = subprocess.run([python, "-c", f"import {module}"], cwd=tmp_path, env=env)
        assert done.returncode != 0, f"{module} is importable from the generator's install"
