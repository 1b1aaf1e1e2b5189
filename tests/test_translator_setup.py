"""A translator's set-up (docs_src/contributing.md): `pip install -e .` alone, with no torch, no
browser and no system packages, is enough to update, check and count the catalogs and to build
the site for preview; and `site-builder i18n new`, which edits [tool.site_builder], does not make
`make` reinstall the environment."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import tomllib
from importlib import metadata

from conftest import REPO, tiny_files, write_tree
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PYPROJECT = """\
[tool.site_builder]
source = "pkg"
docs = "docs"
languages = ["en", "zh"]
"""
# Runs the translator's commands with torch made unimportable, then prints the distributions
# whose modules they imported.
TRANSLATOR = textwrap.dedent(
    """
    import json, sys
    from importlib import metadata
    before = set(sys.modules)
    sys.modules["torch"] = None  # `import torch` raises ImportError
    from site_builder.build import build_site
    from site_builder.cli import main
    from site_builder.config import load_config
    for command in (["update"], ["status"], ["check"]):
        main(["i18n", *command])
    build_site(load_config(), index_search=False)
    owners = metadata.packages_distributions()
    names = {name.split(".")[0] for name in set(sys.modules) - before}
    names -= {"site_builder", "torch"}  # the project itself; torch stays the None put there
    dists = sorted({dist for name in names for dist in owners.get(name, [])})
    print(json.dumps({"distributions": dists, "torch": repr(sys.modules["torch"])}))
    """
)


def base_dependencies() -> set[str]:
    """The project's `dependencies` and everything they require (no extras), by canonical name."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [Requirement(line).name for line in project["dependencies"]]
    found: set[str] = set()
    while wanted:
        name = canonicalize_name(wanted.pop())
        if name in found:
            continue
        found.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                wanted.append(requirement.name)
    return found


def test_the_base_dependencies_hold_no_torch_and_no_browser():
    assert not base_dependencies() & {"torch", "numpy", "playwright", "pytest"}


def test_translating_and_building_need_only_the_base_dependencies(tmp_path):
    write_tree(tmp_path, tiny_files())
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    result = subprocess.run(
        [sys.executable, "-c", TRANSLATOR],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site/zh/models/layer.html").is_file()
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["torch"] == "None"
    imported = {canonicalize_name(name) for name in report["distributions"]}
    assert imported and imported <= base_dependencies(), imported - base_dependencies()


def test_editing_the_site_builder_settings_reinstalls_nothing(tmp_path):
    for name in ("Makefile", "pyproject.toml", "requirements/lock.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv/.locked").touch()

    def make() -> subprocess.CompletedProcess:
        command = ["make", "-C", str(tmp_path), ".venv/.installed"]
        return subprocess.run(command, capture_output=True, text=True)

    # The first time, the stamp of [project] is written and the install (which this folder
    # cannot do: it has no venv) is tried.
    assert "pip install" in make().stdout
    (tmp_path / ".venv/.installed").touch()
    later = time.time() + 60
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"ja"]', '"ja", "ko"]', 1))
    os.utime(pyproject, (later, later))
    again = make()
    assert again.returncode == 0 and "pip install" not in again.stdout, again.stdout
    text = pyproject.read_text()
    assert 'requires-python = ">=3.11"' in text
    pyproject.write_text(text.replace('requires-python = ">=3.11"', 'requires-python = ">=3.12"'))
    os.utime(pyproject, (later + 60, later + 60))
    assert "pip install" in make().stdout
