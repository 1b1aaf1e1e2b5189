"""Setting up leaves a fresh clone clean: `make` runs `npm install`, which rewrites
package-lock.json unless the lock already says everything npm would write into it. And `make`
installs the Python lock, which holds every range that pyproject.toml declares."""

import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from conftest import REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from site_builder import tex


def unlocked(lock: dict) -> list[str]:
    """Dependencies (optional ones too) that no lock entry provides, found the way npm resolves
    them: in the package's own node_modules, then in each enclosing one up to the root."""
    packages = lock["packages"]
    missing = []
    for key, entry in packages.items():
        for name in [*entry.get("dependencies", {}), *entry.get("optionalDependencies", {})]:
            folder = key
            while posixpath.join(folder, "node_modules", name) not in packages:
                if not folder:
                    missing.append(f"{key or 'package.json'} -> {name}")
                    break
                cut = folder.rfind("node_modules/")
                folder = folder[:cut].rstrip("/") if cut > 0 else ""
    return missing


def test_the_lock_file_is_what_npm_install_writes():
    lock = json.loads((REPO / "package-lock.json").read_text(encoding="utf-8"))
    manifest = json.loads((REPO / "package.json").read_text(encoding="utf-8"))
    root = lock["packages"][""]
    for field in ("dependencies", "devDependencies"):
        assert root.get(field, {}) == manifest.get(field, {}), f"{field} differ: run npm install"
    # npm adds every platform's optional binaries (Pagefind's darwin, freebsd, windows builds)
    # to the lock even where it installs only one.
    assert not unlocked(lock), f"npm install would add {unlocked(lock)}: commit its lock file"


def test_the_check_finds_an_optional_dependency_missing_from_the_lock():
    lock = json.loads((REPO / "package-lock.json").read_text(encoding="utf-8"))
    del lock["packages"]["node_modules/@pagefind/windows-x64"]
    assert unlocked(lock) == ["node_modules/pagefind -> @pagefind/windows-x64"]


# ------------------------------------------------------------------------------ the Python lock

LOCK = REPO / "requirements" / "lock.txt"


def locked() -> dict[str, tuple[str, list[str]]]:
    """The lock's pins: canonical name -> (version, hashes)."""
    pins: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"([A-Za-z0-9][\w.-]*)==(\S+)", line):
            name = canonicalize_name(match[1])
            pins[name] = (match[2], [])
        elif match := re.match(r"\s+--hash=(sha256:[0-9a-f]{64})", line):
            pins[name][1].append(match[1])
    return pins


def declared() -> list[Requirement]:
    """What `make` installs: the generator's dependencies and build backend (pyproject.toml) and
    the repository's own (requirements/project.in: the experiment, the dev tools)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    own = (REPO / "requirements" / "project.in").read_text(encoding="utf-8").splitlines()
    wanted = [
        *project["project"]["dependencies"],
        *project["build-system"]["requires"],
        *(line for line in own if line.strip() and not line.startswith("#")),
    ]
    return [Requirement(text) for text in wanted]


def test_the_generator_installs_neither_torch_nor_the_annotated_content():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    names = {canonicalize_name(Requirement(r).name) for r in project["project"]["dependencies"]}
    for extra in project["project"].get("optional-dependencies", {}).values():
        names |= {canonicalize_name(Requirement(r).name) for r in extra}
    assert "torch" not in names and "pagefind-bin-extended" in names
    assert project["tool"]["setuptools"]["packages"]["find"]["include"] == ["site_builder*"]


def test_the_katex_inside_the_generator_is_the_one_package_lock_pins():
    lock = json.loads((REPO / "package-lock.json").read_text(encoding="utf-8"))
    pinned = lock["packages"]["node_modules/katex"]["version"]
    env = {k: v for k, v in os.environ.items() if k != tex.KATEX_ENV}
    code = "from site_builder import tex; print(tex.katex_dist_dir(), tex.katex_version())"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    dist, version = done.stdout.split()
    assert Path(dist) == tex.BUNDLED_KATEX / "dist"
    assert version == pinned, f"site_builder/katex has KaTeX {version}, not {pinned}: make katex"


def test_the_python_lock_pins_every_declared_range_by_hash():
    pins = locked()
    assert len(pins) > 50 and all(hashes for _, hashes in pins.values())
    for requirement in declared():
        if requirement.marker and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in the lock: run make lock"
        version = pins[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"the lock has {name}=={version}, outside {requirement}: run make lock"
        )


def test_the_lock_takes_torch_from_the_cpu_wheel():
    constraint = (REPO / "requirements" / "constraints.txt").read_text(encoding="utf-8")
    assert f"torch=={locked()['torch'][0]}" in constraint.splitlines()
    assert locked()["torch"][0].endswith("+cpu")


def test_make_sets_up_again_when_the_lock_changes(tmp_path):
    for name in ("Makefile", "pyproject.toml", "requirements/lock.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / ".venv").mkdir()
    # the stamp of pyproject's [project] table, which the install depends on
    subprocess.run(["make", "-s", "-C", str(tmp_path), ".venv/.project"], check=True)
    for stamp in (".locked", ".installed"):
        (tmp_path / ".venv" / stamp).touch()

    def plan() -> str:
        command = ["make", "-n", "-C", str(tmp_path), ".venv/.installed"]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    assert "pip install" not in plan()
    later = time.time() + 60
    os.utime(tmp_path / "requirements/lock.txt", (later, later))
    steps = plan()
    assert "-m venv --clear .venv" in steps
    assert "pip install -q --require-hashes --no-deps -r requirements/lock.txt" in steps
    assert "pip install -q --no-deps --no-build-isolation -e ." in steps
