"""Setting up leaves a fresh clone clean: `make` runs `npm install`, which rewrites
package-lock.json unless the lock already says everything npm would write into it."""

import json
import posixpath

from conftest import REPO


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
