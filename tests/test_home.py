"""The home page: its contents come right after the opening (before the introduction's first
heading, such as "Running the code"), and a folder with no page of its own shows no raw path as
a heading."""

import re

from conftest import write_tree

from site_builder.build import build_site

HOME = '''"""
---
title: Tiny Papers
summary: A tiny annotated package for tests.
---
Welcome. Read the [layer](models/layer.html#Layer) first.

## Running the code

Install it first.
"""
'''


def test_contents_follow_the_opening_and_folders_without_a_page_show_no_path(tiny):
    write_tree(
        tiny.root,
        {
            "pkg/__init__.py": HOME,
            "docs/results/conv_run/readme.md": "---\ntitle: Reference run\n---\nNumbers.\n",
        },
    )
    build_site(tiny)
    home = (tiny.out / "index.html").read_text(encoding="utf-8")
    welcome, contents = home.index("Welcome."), home.index('id="listing-heading"')
    assert welcome < contents < home.index("Running the code") < home.index("Install it first")
    headings = re.findall(r"<h3>(.*?)</h3>", home)
    assert not [h for h in headings if "results" in h or "/" in re.sub(r"<[^>]+>", "", h)]
    assert '<a href="results/conv_run/readme.html">Reference run</a>' in home
    assert headings[-1] == "More pages"  # listed with the other pages outside a folder
