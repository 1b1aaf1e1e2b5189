"""The symbol table, and the links the highlight and markdown stages make with it."""

import dataclasses
import re
import textwrap
from pathlib import Path

from test_highlight import pygments_classes

from site_builder.highlight import highlight_module
from site_builder.markdown import render_markdown
from site_builder.parse import parse_module
from site_builder.paths import dotted_name
from site_builder.tex import KatexRenderer
from site_builder.xref import PageLinker, SymbolTable, module_symbols

MODEL = '''
import torch

SCALE = 2


class Mixer(torch.nn.Module):
    """A mixer."""

    def forward(self, x):
        return x * SCALE


def helper():
    return 1
'''

CONFIG = '''
from dataclasses import dataclass

from .model import Mixer


@dataclass
class RunConfig:
    """Settings."""

    width: int = 8


def build(config: RunConfig):
    # One layer, `Mixer`.
    layer = Mixer()
    width = config.width
    return layer, width, helper()
'''

OTHER = '''
class Mixer:
    """A second Mixer: makes the name ambiguous for pages that do not import it."""
'''


def load(tmp_path: Path, rel: str, source: str, package: str = "pkg"):
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source).lstrip())
    module = parse_module(path, rel)
    return module, module_symbols(module, dotted_name(package, rel))


def test_dotted_names():
    assert dotted_name("labml_like", "conv_mixer/__init__.py") == "labml_like.conv_mixer"
    assert (
        dotted_name("labml_like", "conv_mixer/experiment.py") == "labml_like.conv_mixer.experiment"
    )


def test_definitions_and_imports(tmp_path):
    _, model = load(tmp_path, "nets/model.py", MODEL)
    _, config = load(tmp_path, "nets/config.py", CONFIG)
    assert model.url == "nets/model.html" and model.dotted == "pkg.nets.model"
    assert model.top == {"SCALE": "L3", "Mixer": "Mixer", "helper": "helper"}
    assert config.fields == {"width": "L10"} and config.top["RunConfig"] == "RunConfig"
    assert config.imports["Mixer"] == ("pkg.nets.model", "Mixer")
    assert config.imports["dataclass"] == ("dataclasses", "dataclass")
    _, package = load(tmp_path, "nets/__init__.py", "from .model import Mixer as M\n")
    assert package.imports == {"M": ("pkg.nets.model", "Mixer")}


def test_symbols_come_from_the_parse_stage_not_a_second_parse(tmp_path):
    module, symbols = load(tmp_path, "nets/model.py", MODEL)
    (tmp_path / "nets/model.py").unlink()
    again = module_symbols(dataclasses.replace(module, source="not Python ("), "pkg.nets.model")
    assert again == symbols
    assert module_symbols(dataclasses.replace(module, definitions=[]), "pkg.nets.model").top == {}


def test_resolution_rules(tmp_path):
    _, model = load(tmp_path, "nets/model.py", MODEL)
    _, config = load(tmp_path, "nets/config.py", CONFIG)
    _, other = load(tmp_path, "other.py", OTHER)
    table = SymbolTable([model, config, other])
    assert table.resolve("nets/config.html", "Mixer") == ("nets/model.html", "Mixer")  # imported
    assert table.resolve("other.html", "Mixer") == ("other.html", "Mixer")  # same page first
    assert table.resolve("nets/model.html", "Mixer") == ("nets/model.html", "Mixer")
    assert table.resolve("index.html", "Mixer") is None  # ambiguous
    assert table.resolve("nets/config.html", "dataclass") is None  # imported from outside
    assert table.resolve("nets/config.html", "helper") is None  # lower case, not imported
    assert table.resolve("nets/config.html", "helper", prose=True) == ("nets/model.html", "helper")
    assert table.resolve_field("nets/config.html", "width") == ("nets/config.html", "L10")
    assert table.key() == SymbolTable([other, config, model]).key()
    assert table.key() != SymbolTable([model, config]).key()


def test_code_links_names_across_pages(tmp_path):
    _, model = load(tmp_path, "nets/model.py", MODEL)
    module, config = load(tmp_path, "nets/config.py", CONFIG)
    linker = PageLinker(SymbolTable([model, config]), "nets/config.html")
    html = "".join(highlight_module(module.source, module.sections, linker).values())
    css = pygments_classes(module.source)
    n = css["layer"]  # a plain name
    assert f'<a class="{n} xref" href="model.html#Mixer">Mixer</a>' in html
    assert 'xref" href="#L10">width</a>' in html  # config.width
    assert html.count('href="#L10"') == 1  # not the field's own definition, not `width =`
    assert f'<span class="{n}">layer</span>' in html
    assert "helper</a>" not in html  # not imported here
    definition = css["RunConfig"]
    assert f'<span class="{definition}">RunConfig</span>' in html
    plain = "".join(highlight_module(module.source, module.sections).values())
    assert "xref" not in plain and _text(plain) == _text(html)


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_prose_links_names_in_inline_code(tmp_path):
    _, model = load(tmp_path, "nets/model.py", MODEL)
    names = PageLinker(SymbolTable([model]), "intro.html")
    katex = KatexRenderer()
    html = render_markdown(
        "Use `Mixer`, `helper` and `x + y`; [linked `Mixer`](x.html).",
        Path("intro.md"),
        1,
        katex,
        names=names,
    ).html
    assert '<a class="xref" href="nets/model.html#Mixer">' in html
    assert '<a class="xref" href="nets/model.html#helper">' in html  # prose
    assert f'<span class="{pygments_classes("x")["x"]}">x</span>' in html  # marked
    assert html.count("xref") == 2  # not inside the author's own link
