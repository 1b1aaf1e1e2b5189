"""`site-builder new`: a starting project an author builds at once and then edits.

It writes the `[tool.site_builder]` section (into a new pyproject.toml, or appended to the one
there), a package with a home page and one annotated example module with math, and `.gitignore`
entries for the site and the cache. It never overwrites a file.
"""

import re
import tomllib
from pathlib import Path

from .model import BuildError

HOME = '''"""
---
title: {title}
summary: Annotated code, rendered side by side with its commentary.
---

# {title}

Each module of this package is a page: its comments and docstrings sit beside the code they
explain. Start with [the example](example.py).
"""
'''

EXAMPLE = '''"""
---
title: Softmax
summary: A numerically stable softmax, annotated.
---

# Softmax

The softmax turns scores $x_1, \\dots, x_n$ into probabilities:

$$\\operatorname{softmax}(x)_i = \\frac{e^{x_i}}{\\sum_j e^{x_j}}$$
"""

import math


def softmax(scores: list[float]) -> list[float]:
    """
    Subtracting the largest score $m$ first changes nothing, since
    $\\frac{e^{x_i - m}}{\\sum_j e^{x_j - m}} = \\frac{e^{x_i}}{\\sum_j e^{x_j}}$,
    but it keeps every $e^{x_i - m} \\le 1$, so nothing overflows.
    """
    # The largest score, $m = \\max_j x_j$.
    top = max(scores)
    # The shifted exponentials and their sum.
    exps = [math.exp(score - top) for score in scores]
    total = sum(exps)
    # Each share of the total is a probability.
    return [value / total for value in exps]
'''

IGNORED = ("site/", ".site_builder_cache/")


def package_name(folder: Path) -> str:
    """A Python package name from the project folder's name (`My Notes` -> `my_notes`)."""
    name = re.sub(r"\W+", "_", folder.name.lower()).strip("_") or "notes"
    return name if not name[0].isdigit() else f"notes_{name}"


def new_project(folder: Path) -> list[Path]:
    """Write a starting project in `folder` (made if missing); the files written or changed.
    BuildError, before anything is written, when the project has a `[tool.site_builder]`
    section already or a file the project would write is there."""
    folder = folder.resolve()
    package = package_name(folder)
    title = package.replace("_", " ").title()
    pyproject = folder / "pyproject.toml"
    section = f'\n[tool.site_builder]\nsource = "{package}"\ntitle = "{title}"\nout = "site"\n'
    if pyproject.is_file():
        try:
            tool = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise BuildError(pyproject, None, f"cannot read: {error}") from None
        if "site_builder" in tool:
            raise BuildError(pyproject, None, "has a [tool.site_builder] section already")
    sources = {folder / package / "__init__.py": HOME.format(title=title)}
    sources[folder / package / "example.py"] = EXAMPLE
    for path in sources:
        if path.exists():
            raise BuildError(path, None, "exists already; not overwritten (no files written)")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if pyproject.is_file():
        text = pyproject.read_text(encoding="utf-8")
        pyproject.write_text(text + ("" if text.endswith("\n") else "\n") + section)
    else:
        pyproject.write_text(f'[project]\nname = "{package.replace("_", "-")}"\n' + section)
    written.append(pyproject)
    (folder / package).mkdir(exist_ok=True)
    for path, text in sources.items():
        path.write_text(text, encoding="utf-8")
        written.append(path)
    gitignore = folder / ".gitignore"
    lines = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.is_file() else []
    missing = [entry for entry in IGNORED if entry not in lines]
    if missing:
        with gitignore.open("a", encoding="utf-8") as file:
            if lines and not gitignore.read_text(encoding="utf-8").endswith("\n"):
                file.write("\n")
            file.write("".join(f"{entry}\n" for entry in missing))
        written.append(gitignore)
    return written
