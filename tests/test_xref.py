"""The symbol table and the cross-reference annotation of highlighted HTML."""

import textwrap
from pathlib import Path

from site_builder.highlight import highlight_inline, highlight_module
from site_builder.parse import parse_module
from site_builder.xref import (
    SymbolTable,
    annotate_code,
    annotate_module,
    annotate_prose,
    dotted_name,
    module_symbols,
)

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
    url = rel.removesuffix(".py") + ".html"
    symbols = module_symbols(module, path.read_text(), url, dotted_name(package, rel))
    return module, symbols


def test_dotted_names():
    assert dotted_name("labml_like", "conv_mixer/__init__.py") == "labml_like.conv_mixer"
    assert (
        dotted_name("labml_like", "conv_mixer/experiment.py") == "labml_like.conv_mixer.experiment"
    )


def test_definitions_and_imports(tmp_path):
    _, model = load(tmp_path, "nets/model.py", MODEL)
    _, config = load(tmp_path, "nets/config.py", CONFIG)
    assert model.top == {"SCALE": "L3", "Mixer": "Mixer", "helper": "L13"}
    assert config.fields == {"width": "L10"} and config.top["RunConfig"] == "RunConfig"
    assert config.imports["Mixer"] == ("pkg.nets.model", "Mixer")


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
    assert table.resolve("nets/config.html", "helper", prose=True) == ("nets/model.html", "L13")
    assert table.resolve_field("nets/config.html", "width") == ("nets/config.html", "L10")


def test_code_links_names_across_pages(tmp_path):
    model_module, model = load(tmp_path, "nets/model.py", MODEL)
    module, config = load(tmp_path, "nets/config.py", CONFIG)
    table = SymbolTable([model, config])
    highlight_module((tmp_path / "nets/config.py").read_text(), module.sections)
    html = "".join(annotate_code(s.code_html, "nets/config.html", table) for s in module.sections)
    assert '<a class="n xref" data-name="Mixer" href="model.html#Mixer">Mixer</a>' in html
    assert 'data-name="width" href="#L10">width</a>' in html  # config.width
    assert html.count('href="#L10"') == 1  # not the field's own definition, not `width =`
    assert '<span class="n" data-name="layer">layer</span>' in html
    assert 'data-name="helper" href' not in html  # not imported here


def test_prose_links_and_math_groups(tmp_path):
    _, model = load(tmp_path, "nets/model.py", MODEL)
    table = SymbolTable([model])
    prose = f"<p>Use {highlight_inline('Mixer')} and {highlight_inline('x + y')}.</p>"
    html = annotate_prose(prose, "intro.html", table)
    assert '<a class="xref" data-name="Mixer" href="nets/model.html#Mixer">' in html
    assert '<span class="n" data-name="x">x</span>' in html
    linked = '<a href="x.html"><code class="code"><span class="n">Mixer</span></code></a>'
    assert "xref" not in annotate_prose(linked, "intro.html", table)

    module, _ = load(tmp_path, "nets/model.py", MODEL)
    tex = '<span class="katex" data-tex-key="{}"><math>..</math></span>'
    module.intro_html = tex.format("h") + tex.format("h") + tex.format("1 \\times 1")
    annotate_module(module, "nets/model.html", table)
    assert module.intro_html.count('data-tex-key="h"') == 2
    assert module.intro_html.count("data-tex-key") == 2  # 1 \times 1 occurs once
    assert module.intro_html.count('<span class="katex">') == 1
