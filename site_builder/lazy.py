"""The one way site_builder defers an import: `name = lazy_module("package.module")` at the top of
a module, which imports it on first use.

A rebuild with nothing to render, and `site-builder --help`, must not pay for the rendering
libraries (markdown-it, Pygments, KaTeX's V8, Babel, PyYAML, Jinja, nbformat): together they take
longer to import than such a build takes to run. `tests/test_cli.py` checks which ones load.
"""

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """`name` as a module object whose code runs the first time one of its attributes is read
    (the module itself when it is imported already)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
