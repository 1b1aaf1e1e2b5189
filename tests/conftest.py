"""Shared helpers: small throwaway packages following the annotation conventions."""

import hashlib
import textwrap
from pathlib import Path

import pytest

from site_builder.config import SiteConfig

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000100057ee2fd0000000049454e44ae426082"
)

ROOT_INIT = '''"""
---
title: Tiny Papers
summary: A tiny annotated package for tests.
---
Welcome. Read the [layer](models/layer.html#Layer) first.
"""
'''

MODELS_INIT = '''"""
---
title: Models
summary: Every model of the tiny package.
---
The models live here. ![diagram](diagram.png)
"""
'''

LAYER = '''"""
---
title: A Layer
summary: One layer, explained.
---
The layer computes $y = W x + b$. See [the notes](notes.html) and [home](../index.html).
"""

import math


class Layer:
    """
    A layer with a weight $W$ and a bias $b$.
    """

    def __init__(self, width: int):
        # Keep the width: $d$ features.
        self.width = width

    def forward(self, x):
        # Scale by $\\frac{1}{\\sqrt{d}}$.
        return x / math.sqrt(self.width)
'''

NOTES = """---
title: Notes
summary: Notes on the layer.
---
Back to the [layer](layer.html#Layer.forward-1).
"""

DEEP = '''"""
---
title: Deep Module
summary: Nested two folders down.
---
Up to [the layer](../../layer.html).
"""

X = 1
'''

GUIDE = """---
title: Guide
summary: How to read the pages.
---
Pages read side by side. ![figure](figure.svg)
"""

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4"/></svg>'


def write_tree(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content) if content.startswith("\n") else content)


def tiny_files() -> dict[str, str | bytes]:
    return {
        "pkg/__init__.py": ROOT_INIT,
        "pkg/models/__init__.py": MODELS_INIT,
        "pkg/models/diagram.png": PNG_1X1,
        "pkg/models/layer.py": LAYER,
        "pkg/models/notes.md": NOTES,
        "pkg/models/deep/inner/module.py": DEEP,
        "docs/guide.md": GUIDE,
        "docs/figure.svg": SVG,
        "docs/results.json": '{"accuracy": 0.9}\n',
        "docs/locale/zh/LC_MESSAGES/ignored.json": "{}",
    }


def make_config(root: Path, **changes) -> SiteConfig:
    settings = dict(
        root=root,
        source=root / "pkg",
        out=root / "site",
        docs=root / "docs",
        title="Tiny Papers",
        base_url="https://tiny.example.org/",
        repo_url="https://example.org/repo/blob/main/",
        languages=("en",),
    )
    settings.update(changes)
    return SiteConfig(**settings)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` (relative path -> content hash), to compare byte for byte."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def tiny(tmp_path: Path) -> SiteConfig:
    """A tiny package with nested folders, a markdown page, images and a docs tree."""
    write_tree(tmp_path, tiny_files())
    return make_config(tmp_path)
