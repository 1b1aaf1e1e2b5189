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


SCRIPT_MODEL = '''
def helper():
    return 1


class GPT:
    """The model."""
'''


def test_a_folder_of_scripts_imports_its_modules_by_plain_name(tmp_path):
    """No `__init__.py`: a script finds a module next to it, then at the source's root."""
    _, model = load(tmp_path, "model.py", SCRIPT_MODEL, "repo")
    _, train = load(tmp_path, "train.py", "import model as m\nfrom model import GPT\n", "repo")
    _, tokens = load(tmp_path, "data/web/tokens.py", "def encode(): ...\n", "repo")
    _, web = load(tmp_path, "data/web/prepare.py", "from tokens import encode\n", "repo")
    _, other = load(tmp_path, "data/books/prepare.py", "import model, tokens\n", "repo")
    table = SymbolTable([model, train, tokens, web, other])
    assert table.resolve("train.html", "GPT") == ("model.html", "GPT")
    assert table.resolve_attribute("train.html", "m", "helper") == ("model.html", "helper")
    assert table.resolve_attribute("train.html", "m", "missing") is None
    assert table.resolve("data/web/prepare.html", "encode") == ("data/web/tokens.html", "encode")
    here = "data/books/prepare.html"  # the root's model, no tokens.py next to it
    assert table.resolve_attribute(here, "model", "GPT") == ("model.html", "GPT")
    assert table.resolve_attribute(here, "tokens", "encode") is None
    assert table.resolve_attribute("train.html", "model", "GPT") is None  # bound as `m`
    # commentary (here a Markdown page) may name a module the page could import
    assert table.resolve_attribute("README.html", "model", "helper", prose=True) == (
        "model.html",
        "helper",
    )


def test_in_a_package_a_plain_name_import_is_absolute(tmp_path):
    _, package = load(tmp_path, "nets/__init__.py", "")
    _, model = load(tmp_path, "nets/model.py", SCRIPT_MODEL)
    _, config = load(tmp_path, "nets/config.py", "from model import GPT\nimport model\n")
    table = SymbolTable([package, model, config])
    assert table.resolve("nets/config.html", "GPT") is None  # `model` is no module of `pkg`
    assert table.resolve_attribute("nets/config.html", "model", "GPT") is None


def test_prose_links_a_modules_attribute(tmp_path):
    _, model = load(tmp_path, "model.py", SCRIPT_MODEL, "repo")
    names = PageLinker(SymbolTable([model]), "README.html")
    html = render_markdown(
        "See `model.GPT`, `model.py` and `model.nothing`.",
        Path("README.md"),
        1,
        KatexRenderer(),
        names=names,
    ).html
    assert '<a class="xref" href="model.html#GPT">' in html
    gpt = pygments_classes("GPT")["GPT"]
    assert f'<span class="{gpt}">GPT</span>' in html  # highlighted with the other `GPT`s
    assert html.count("xref") == 1
