"""Deterministic generator of a large annotated package, shaped like a paper-implementation repo.

`generate_corpus(root, modules, seed)` writes nested packages of annotated Python (front matter,
class and function docstrings, Markdown comment runs with math, lists, tables, inline code and
checked links to other generated pages and their anchors, bare `#` separators, trailing comments),
a `readme.md` page in every package below the root, and returns `CorpusStats`. The same arguments
always produce the same bytes.

It is shaped like the real repository the issue measured (3,349 formulas in 39k lines): about
one formula per 12 lines, and docstrings written as authors write them, plain (not raw) strings
with TeX in them: Python reads the backslash of a `frac` command as an escape, but the builder
reads the source as written. Their TeX never starts with `N`, `u`, `U` or `x` after a
backslash, which would not compile in a plain string.
"""

import io
import posixpath
import random
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path


def _words(text: str) -> list[str]:
    return text.split()


def _phrases(text: str) -> list[str]:
    return " ".join(text.split()).split("; ")


GREEK = _words("alpha beta gamma delta epsilon eta theta lambda mu sigma tau phi psi omega rho")
LATIN = _words("a b c d e f g h k m n p q r s u v w x y z W Q K V X Y Z H A B M")
INDICES = _words("i j k l t n m s t-1 t+1 i+1 0 1 2 h c")
DIMS = _words("B T C H W N D L d h d_k d_{model} n_h S")
COMMON_TEX = _words(r"x \theta d_{model} h_t \mathbf{W} N \epsilon B T \eta \lambda y z")

TOPICS = _words("transformers vision reinforcement diffusion optimizers normalization generative")
WORDS = _words("""attention rotary gated sparse linear mixer patch residual scaled relative adaptive
    causal local distant pooled deep shallow fused memory compressive feedback switch expert token
    channel spatial temporal hyper meta noise score energy flow policy value critic actor graph edge
    node kernel cosine warmup decay momentum variance batch layer group instance weight spectral""")
NOUNS = _words("""Attention Embedding Block Layer Encoder Decoder Projection Head Norm Mixer Gate
    Router Scheduler Optimizer Sampler Memory Network Critic Policy Loss Estimator Kernel Cell""")
ADJECTIVES = _words("""Gated Rotary Sparse Linear Relative Adaptive Causal Local Global Fused
    Compressive Switch Spectral Residual Scaled Learned Shared Dual Multi Cross Deep Noisy Soft""")
VERBS = _words("""compute project normalize scale mix gather split merge mask accumulate rescale
    estimate sample update clip average""")
THINGS = _phrases("""the queries; the keys; the logits; the hidden state; the gradient; the residual
    stream; each channel; every token; the score; the running mean; the noise estimate; the
    advantage; the patch grid; the mask; each head""")
REASONS = _phrases("""so that the variance stays close to one; which keeps training stable; because
    the softmax saturates otherwise; to avoid an extra copy in memory; as the paper suggests; so the
    layer can be stacked without changing shapes; which is cheaper than a dense matrix; to make the
    operation causal; so gradients reach the early layers; because batch statistics are noisy""")

# Math templates; `_Writer.tex` fills each marker: @S symbol, @P symbol that takes a power, @G Greek
# letter, @I index, @L lower bound, @N upper bound, @K dimension, @D shape, @E exponent, @X matrix.
TEX_TEMPLATES = [
    r"\frac{\partial \mathcal{L}}{\partial @S}",
    r"\sum_{@I=@L}^{@N} @S @P^2",
    r"\mathrm{softmax}\left(\frac{@S @P^\top}{\sqrt{@K}}\right) @S",
    r"@X",
    r"\mathcal{N}\left(@S, @P^2 \mathbf{I}\right)",
    r"\mathbb{E}_{@S \sim p_{@G}}\left[\log q(@S \mid @S)\right]",
    r"@S \leftarrow @S - @G \frac{\hat{m}_{@I}}{\sqrt{\hat{v}_{@I}} + \epsilon}",
    r"\lVert @S @S - @S \rVert_2^2 \le @G",
    r"\frac{@S - \mu}{\sqrt{\sigma^2 + \epsilon}} \odot @S + @S",
    r"@S \in \mathbb{R}^{@D}",
    r"\prod_{@I=@L}^{@N} \pi_\theta(@S \mid @S)",
    r"\int_{@L}^{\infty} @S\, e^{-@S x}\, dx",
    r"\begin{cases} @S & x > @L \\ @G (e^{x} - 1) & \text{otherwise} \end{cases}",
    r"@S = @G^{@E} \cdot 10^{-@E}",
    r"\exp\left(-\frac{@P^2}{2 @S}\right)",
    r"@S = \max\left(0, @S + @S\right)",
]

# Code statement templates, formatted with two words `a`, `b` and a small integer `n`.
CODE_TEMPLATES = [
    ["{a}_{b} = self.{a}(x).view(batch_size, seq_len, self.n_heads, -1)"],
    ['scores = torch.einsum("bihd,bjhd->bijh", {a}, {b}) * self.scale'],
    ["if mask is not None:", '    scores = scores.masked_fill(mask == 0, float("-inf"))'],
    ["{a} = {b}.softmax(dim=-1)  # normalise over the last axis"],
    ["{a} = self.norm({a} + self.dropout({b}))"],
    ["x = x + self.{a}_{b}(x)"],
    ["{a}_{b} = torch.cat([{a}, {b}], dim={n})"],
    ["for layer in self.{a}_layers[{n}:]:", "    x = layer(x)  # shape is unchanged"],
    ['tag = "# {a} {b}: not a comment"  # the string holds a hash'],
    ["{a} = (", "    {b}.mean(dim=0, keepdim=True)", "    - {b}.var(dim=0).add(1e-6).sqrt()", ")"],
    ["{a}_{b} = {a} @ {b}.transpose(-2, -1)"],
]

WIDTH = 92


@dataclass
class CorpusStats:
    modules: int = 0  # .py files
    readmes: int = 0  # readme.md pages
    packages: int = 0
    lines: int = 0
    bytes: int = 0
    math_spans: int = 0
    distinct_math: int = 0
    display_math: int = 0
    links: int = 0
    anchor_links: int = 0
    classes: int = 0
    functions: int = 0
    comment_runs: int = 0
    tables: int = 0
    files: list[str] = field(default_factory=list, repr=False)  # every page's source

    @property
    def python_files(self) -> list[str]:
        return [f for f in self.files if f.endswith(".py")]

    def summary(self) -> str:
        return (
            f"{self.modules} modules in {self.packages} packages and {self.readmes} readme.md "
            f"pages, {self.lines:,} lines ({self.bytes / 1e6:.2f} MB), {self.math_spans:,} math "
            f"spans, one per {self.lines / max(self.math_spans, 1):.1f} lines "
            f"({self.distinct_math:,} distinct, {self.display_math:,} display), "
            f"{self.links:,} links ({self.anchor_links:,} to anchors), {self.classes} classes, "
            f"{self.functions} functions/methods, {self.comment_runs:,} comment runs, "
            f"{self.tables} tables"
        )


@dataclass
class ModulePlan:
    rel_path: str  # relative to the package root, e.g. "vision/patch/rotary_mixer.py"
    title: str
    classes: list[tuple[str, list[str]]]  # (class name, method names)
    functions: list[str]

    @property
    def url(self) -> str:
        parent, name = posixpath.split(self.rel_path)
        page = "index.html" if name == "__init__.py" else name[:-3] + ".html"
        return posixpath.join(parent, page)

    @property
    def anchors(self) -> list[str]:
        methods = [f"{c}.{m}" for c, ms in self.classes for m in ms]
        return [c for c, _ in self.classes] + methods + self.functions


class _Writer:
    """Generates one module's source while counting what it emits."""

    def __init__(self, rng, plan: ModulePlan, plans: list[ModulePlan], stats, tex_seen: set[str]):
        self.rng, self.plan, self.plans = rng, plan, plans
        self.stats, self.tex_seen = stats, tex_seen

    # --- math -----------------------------------------------------------------------------
    def sym(self, power: bool = True) -> str:
        """A symbol such as `\\alpha_{t}` or `W^{(l)}`; `power=False` leaves room for a `^`."""
        rng = self.rng
        base = f"\\{rng.choice(GREEK)}" if rng.random() < 0.5 else rng.choice(LATIN)
        if rng.random() < 0.6:
            base += f"_{{{rng.choice(INDICES)}}}"
        if power and rng.random() < 0.2:
            base += f"^{{({rng.choice(['l', 'k', 'n', '1', '2'])})}}"
        return base

    def tex(self) -> str:
        rng = self.rng
        if rng.random() < 0.18:
            tex = rng.choice(COMMON_TEX)
        else:
            fill = {
                "@S": self.sym,
                "@P": lambda: self.sym(power=False),
                "@G": lambda: "\\" + rng.choice(GREEK),
                "@I": lambda: rng.choice(["i", "j", "k", "t"]),
                "@L": lambda: rng.choice(["0", "1"]),
                "@N": lambda: rng.choice(["N", "T", "K", "n", "d", "L"]),
                "@K": lambda: rng.choice(DIMS),
                "@D": lambda: " \\times ".join(rng.sample(DIMS, rng.randint(2, 4))),
                "@E": lambda: str(rng.randint(2, 12)),
                "@X": self.matrix,
            }
            tex = re.sub("@[A-Z]", lambda m: fill[m.group()](), rng.choice(TEX_TEMPLATES))
        return tex

    def counted(self, tex: str) -> str:
        """Count one math span (inline or display) of the output."""
        self.stats.math_spans += 1
        self.tex_seen.add(tex)
        return tex

    def inline_math(self, tex: str | None = None) -> str:
        return f"${self.counted(tex or self.tex())}$"

    def matrix(self) -> str:
        rows, cols = self.rng.choice([(2, 2), (2, 3), (3, 3), (3, 1)])
        env = self.rng.choice(["bmatrix", "pmatrix"])
        body = " \\\\ ".join(" & ".join(self.sym() for _ in range(cols)) for _ in range(rows))
        return f"\\begin{{{env}}} {body} \\end{{{env}}}"

    def display_math(self) -> list[str]:
        self.stats.display_math += 1
        if self.rng.random() < 0.3:
            a, b = self.tex(), self.tex()
            aligned = [f"{a} &= {b} \\\\", f"&\\approx {self.tex()}"]
            body = ["\\begin{aligned}", *aligned, "\\end{aligned}"]
        else:
            body = [self.tex()]
        self.counted("\n".join(body))
        return ["$$", *body, "$$"]

    # --- prose ----------------------------------------------------------------------------
    def link(self) -> str:
        rng, here = self.rng, self.plan
        target = rng.choice(self.plans)
        href = posixpath.relpath(target.url, posixpath.dirname(here.url) or ".")
        self.stats.links += 1
        if target is here and here.anchors:
            anchor = rng.choice(here.anchors)
            self.stats.anchor_links += 1
            return f"[`{anchor}`](#{anchor})"
        if target.anchors and rng.random() < 0.6:
            anchor = rng.choice(target.anchors)
            self.stats.anchor_links += 1
            return f"[{anchor}]({href}#{anchor})"
        return f"[{target.title}]({href})"

    def sentence(self) -> list[str]:
        rng = self.rng
        atoms = ["We", rng.choice(VERBS), rng.choice(THINGS)]
        if rng.random() < 0.14:
            atoms += ["as", self.inline_math() + ","]
        atoms += rng.choice(REASONS).split()
        if rng.random() < 0.5:
            atoms += ["with", f"`self.{rng.choice(WORDS)}_{rng.choice(WORDS)}`"]
        if rng.random() < 0.35:
            atoms += ["(see", self.link() + ")"]
        if rng.random() < 0.06:
            atoms += ["where", self.inline_math(), "is", rng.choice(THINGS)]
        return atoms

    def paragraph(self, sentences: int) -> list[str]:
        atoms: list[str] = []
        for _ in range(sentences):
            sentence = self.sentence()
            sentence[-1] += "."
            atoms += sentence
        return wrap_atoms(atoms, WIDTH - 12)

    def bullet_list(self) -> list[str]:
        items = []
        for _ in range(self.rng.randint(2, 4)):
            name = f"{self.rng.choice(WORDS)}_{self.rng.choice(WORDS)}"
            math = ", " + self.inline_math() if self.rng.random() < 0.25 else ""
            items.append(f"* `{name}` is {self.rng.choice(THINGS)}{math}")
        return items

    def table(self) -> list[str]:
        self.stats.tables += 1
        rows = ["| Symbol | Meaning | Shape |", "|---|---|---|"]
        for _ in range(self.rng.randint(2, 4)):
            shape = ", ".join(self.rng.sample(DIMS, 3))
            symbol = self.inline_math(self.sym())
            rows.append(f"| {symbol} | {self.rng.choice(THINGS)} | `[{shape}]` |")
        return rows

    def commentary(self) -> list[str]:
        """One Markdown block: paragraphs mixed with a list, a table or display math."""
        blocks = [self.paragraph(self.rng.randint(1, 2))]
        extra = self.rng.random()
        if extra < 0.25:
            blocks.append(self.bullet_list())
        elif extra < 0.3:
            blocks.append(self.table())
        elif extra < 0.4:
            blocks.append(self.display_math())
            blocks.append(self.paragraph(1))
        lines: list[str] = []
        for block in blocks:
            lines += ([""] if lines else []) + block
        return lines

    # --- code -----------------------------------------------------------------------------
    def comment_run(self, indent: str) -> list[str]:
        self.stats.comment_runs += 1
        return [f"{indent}# {line}".rstrip() for line in self.commentary()]

    def docstring(self, indent: str, heading: str | None = None) -> list[str]:
        body = ([f"## {heading}", ""] if heading else []) + self.commentary()
        return [f'{indent}"""'] + [f"{indent}{line}".rstrip() for line in body] + [f'{indent}"""']

    def statements(self, indent: str, count: int) -> list[str]:
        lines = []
        for _ in range(count):
            a, b = self.rng.choice(WORDS), self.rng.choice(WORDS)
            template = self.rng.choice(CODE_TEMPLATES)
            lines += [indent + line.format(a=a, b=b, n=self.rng.randint(0, 3)) for line in template]
        return lines

    def method(self, class_name: str, name: str) -> list[str]:
        rng, ind = self.rng, " " * 8
        args = ", ".join(f"{rng.choice(WORDS)}_{i}: int" for i in range(rng.randint(1, 3)))
        lines = [f"    def {name}(self, x: torch.Tensor, {args}) -> torch.Tensor:"]
        lines += self.docstring(ind)
        lines += [f"{ind}batch_size, seq_len = x.shape[:2]  # `[batch_size, seq_len, d_model]`"]
        for _ in range(rng.randint(2, 3)):
            lines += self.comment_run(ind) + self.statements(ind, rng.randint(1, 3))
            if rng.random() < 0.2:
                lines += [f"{ind}#"] + self.statements(ind, 1)
        return lines + [f"{ind}return x", ""]

    def klass(self, name: str, methods: list[str]) -> list[str]:
        self.stats.classes += 1
        lines = [f"class {name}(nn.Module):"] + self.docstring("    ", heading=name)
        init_args = ", ".join(f"n_{w}: int" for w in self.rng.sample(WORDS, 3))
        lines += ["", f"    def __init__(self, d_model: int, {init_args}, dropout: float = 0.1):"]
        lines += self.docstring(" " * 8) + ["        super().__init__()"]
        for _ in range(self.rng.randint(2, 3)):
            a, b = self.rng.choice(WORDS), self.rng.choice(WORDS)
            lines += self.comment_run(" " * 8)
            lines += [f"        self.{a}_{b} = nn.Linear(d_model, d_model, bias=False)"]
            lines += ["        self.scale = d_model**-0.5  # 1 / sqrt(d_model)"]
        lines += [""]
        self.stats.functions += 1 + len(methods)
        for method in methods:
            lines += self.method(name, method)
        return lines + [""]

    def function(self, name: str) -> list[str]:
        self.stats.functions += 1
        lines = [f"def {name}(x: torch.Tensor, {self.rng.choice(WORDS)}: float = 1.0):"]
        lines += self.docstring("    ")
        for _ in range(self.rng.randint(1, 2)):
            lines += self.comment_run("    ") + self.statements("    ", self.rng.randint(1, 3))
        return lines + ["    return x", "", ""]

    def module(self) -> str:
        plan, rng = self.plan, self.rng
        intro = [self.paragraph(2), self.display_math(), self.paragraph(1), self.bullet_list()]
        if plan.classes:
            intro.append([f"The main class is [`{plan.classes[0][0]}`](#{plan.classes[0][0]})."])
        lines = ['"""', *self.front_matter(), f"# {plan.title}", ""]
        for block in intro:
            lines += block + [""]
        lines[-1:] = ['"""', ""]
        lines += ["import math", "", "import torch", "from torch import nn", ""]
        lines += self.comment_run("") + ["EPSILON = 1e-6  # numerical floor", ""]
        lines += ["#", f"DEFAULT_{rng.choice(WORDS).upper()} = {rng.randint(2, 512)}", "", ""]
        for class_name, methods in plan.classes:
            lines += self.klass(class_name, methods) + [""]
        for function in plan.functions:
            lines += self.function(function)
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines) + "\n"

    def front_matter(self) -> list[str]:
        topic = self.rng.choice(THINGS)
        summary = f"An annotated {self.plan.title.lower()}: how it treats {topic}."
        return ["---", f"title: {self.plan.title}", "summary: >", f"  {summary}", "---", ""]

    def readme(self) -> str:
        """A package's `readme.md`: the paper in brief, with math, a list and links."""
        lines = [*self.front_matter(), f"# {self.plan.title}", ""] + self.paragraph(3) + [""]
        lines += self.display_math() + [""] + self.paragraph(2) + [""] + self.bullet_list()
        return "\n".join(lines + [""] + [f"* {self.link()}" for _ in range(3)]) + "\n"

    def package_init(self) -> str:
        plan = self.plan
        lines = ['"""', *self.front_matter(), f"# {plan.title}", ""] + self.paragraph(2) + [""]
        lines += [f"* {self.link()}" for _ in range(4)] + ['"""', ""]
        lines += self.comment_run("") + [f"__all__ = {sorted(plan.functions)!r}", ""]
        for function in plan.functions:
            lines += self.function(function)
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines) + "\n"


def wrap_atoms(atoms: list[str], width: int) -> list[str]:
    """Greedy wrap that never breaks inside an atom (a math span, link or word)."""
    lines, current = [], ""
    for atom in atoms:
        if current and len(current) + 1 + len(atom) > width:
            lines.append(current)
            current = atom
        else:
            current = f"{current} {atom}" if current else atom
    return lines + [current] if current else lines


def plan_corpus(rng: random.Random, modules: int) -> list[ModulePlan]:
    """Package layout: root / topic / subpackage / module, every level with an `__init__.py`."""
    if modules < 4:
        raise ValueError(f"need at least 4 modules, got {modules}")
    n_leaf_packages = max(1, modules // 9)
    n_topics = max(1, min(len(TOPICS), n_leaf_packages // 3))
    n_leaf_modules = modules - 1 - n_topics - n_leaf_packages
    if n_leaf_modules < n_leaf_packages:
        raise ValueError(f"{modules} modules is too few for the package layout")
    leaf_packages = []
    for p in range(n_leaf_packages):
        topic = TOPICS[p % n_topics]
        name = f"{WORDS[(p * 7) % len(WORDS)]}_{WORDS[(p * 11 + 3) % len(WORDS)]}"
        leaf_packages.append(f"{topic}/{name}")
    used_classes: set[str] = set()

    def make(rel_path: str, title: str, n_classes: int, n_functions: int) -> ModulePlan:
        classes = []
        for _ in range(n_classes):
            name = rng.choice(ADJECTIVES) + rng.choice(NOUNS)
            while name in used_classes:
                name = rng.choice(ADJECTIVES) + name
            used_classes.add(name)
            extra = rng.choice([[], ["encode"], ["decode"], ["step"], ["reset"]])
            methods = ["forward", *extra]
            classes.append((name, methods))
        functions = [f"{w}_{rng.choice(VERBS)}" for w in rng.sample(WORDS, n_functions)]
        return ModulePlan(rel_path, title, classes, functions)

    def titled(path: str) -> str:
        return path.replace("_", " ").title()

    plans = [make("__init__.py", "Annotated Zoo", 0, 0)]
    plans += [make(f"{t}/__init__.py", titled(t), 0, 1) for t in TOPICS[:n_topics]]
    plans += [make(f"{p}/__init__.py", titled(p.split("/")[1]), 0, 1) for p in leaf_packages]
    names_by_package: dict[str, set[str]] = {p: set() for p in leaf_packages}
    for m in range(n_leaf_modules):
        package = leaf_packages[m % n_leaf_packages]
        name = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}"
        while name in names_by_package[package]:
            name += f"_{rng.choice(WORDS)}"
        names_by_package[package].add(name)
        plans.append(make(f"{package}/{name}.py", titled(name), rng.randint(1, 2), 2))
    for package in TOPICS[:n_topics] + leaf_packages:
        plans.append(
            make(f"{package}/readme.md", titled(package.split("/")[-1]) + " In Brief", 0, 0)
        )
    return plans


def generate_corpus(root: Path, modules: int = 220, seed: int = 0) -> CorpusStats:
    """Write `modules` annotated `.py` files under `root` (created; must be empty or absent)."""
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty")
    rng = random.Random(seed)
    plans = plan_corpus(rng, modules)
    stats = CorpusStats()
    tex_seen: set[str] = set()
    for plan in plans:
        writer = _Writer(rng, plan, plans, stats, tex_seen)
        if plan.rel_path.endswith("readme.md"):
            source = writer.readme()
        elif plan.rel_path.endswith("__init__.py"):
            source = writer.package_init()
        else:
            source = writer.module()
        path = root / plan.rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
        stats.files.append(plan.rel_path)
        stats.lines += source.count("\n")
        stats.bytes += len(source.encode())
    stats.packages = sum(p.rel_path.endswith("__init__.py") for p in plans)
    stats.readmes = sum(p.rel_path.endswith(".md") for p in plans)
    stats.modules = len(plans) - stats.readmes
    stats.distinct_math = len(tex_seen)
    return stats


def edit_one_comment(path: Path, marker: str) -> None:
    """Append a sentence to the first full-line `#` comment with text (a one-comment edit)."""
    source = path.read_text(encoding="utf-8")
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        text = token.line.strip()
        if token.type == tokenize.COMMENT and text == token.string and len(text) > 2:
            lines = source.split("\n")
            lines[token.start[0] - 1] += f" Edit {marker}."
            path.write_text("\n".join(lines), encoding="utf-8")
            return
    raise ValueError(f"{path}: no comment line to edit")


if __name__ == "__main__":
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        modules = int(sys.argv[1]) if sys.argv[1:] else 220
        print(generate_corpus(Path(tmp) / "zoo", modules).summary())
