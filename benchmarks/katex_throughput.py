"""KaTeX throughput at build time: equations rendered per second by site_builder.tex.KatexRenderer.

Cold: a fresh renderer's first batch (V8 start and KaTeX load included). Warm: distinct,
never-seen equations, sent one per call and in batches (the build sends each page's in one
`render_many`). Memoized: the same equations again. From a memo: a new renderer given the results
as its memo (what a rebuild does), which must never start V8.
Run: `python benchmarks/katex_throughput.py [--count N]`.
"""

import argparse
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from site_builder import tex  # noqa: E402
from site_builder.tex import KatexRenderer  # noqa: E402

TEMPLATES = [
    r"\frac{{{a}}}{{{b} + {n}}}",
    r"\sum_{{i=1}}^{{{n}}} {a}_i^{{{k}}}",
    r"\mathbf{{{A}}} \in \mathbb{{R}}^{{{n} \times {k}}}",
    r"\text{{GELU}}({a}) = {a} \Phi({a}) + {n}",
    r"\operatorname{{BN}}\big(\sigma({A} * {a}_{{{n}}})\big) + {b}",
    r"\begin{{aligned}} {a} &= {b}^{{{n}}} \\ {A} &= \sqrt{{{k}}} \end{{aligned}}",
    r"\left( \int_0^{{{n}}} e^{{-{a} t}} \, dt \right)^{{{k}}}",
    r"{A}_{{{n},{k}}} = \max_{{{a}}} \log p_\theta({b} \mid {a})",
]


def equations(count: int, seed: int) -> list[tuple[str, bool]]:
    rng = random.Random(seed)
    found: dict[tuple[str, bool], None] = {}
    while len(found) < count:
        tex_source = rng.choice(TEMPLATES).format(
            a=rng.choice("xyzuvw"),
            b=rng.choice(["h", r"\alpha", r"\beta", "W"]),
            A=rng.choice("XYZHW"),
            n=rng.randrange(1, 10_000),
            k=rng.randrange(1, 64),
        )
        found[(tex_source, rng.random() < 0.25)] = None
    return list(found)


def rate(label: str, count: int, seconds: float) -> None:
    print(f"{label:<42} {count:>6} eq  {seconds:7.3f} s  {count / seconds:9.0f} eq/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="distinct equations per run")
    args = parser.parse_args()
    eqs = equations(4 * args.count + 200, seed=0)
    cold, single, batch, large = (
        eqs[:200],
        eqs[200 : 200 + args.count],
        eqs[200 + args.count : 200 + 2 * args.count],
        eqs[200 + 2 * args.count :],
    )
    print(f"KaTeX {tex.katex_version()} via py_mini_racer; Python {platform.python_version()}")
    katex = KatexRenderer()

    start = time.perf_counter()
    katex.render_many(cold)
    rate("cold (V8 start + KaTeX load + 200 eq)", len(cold), time.perf_counter() - start)

    start = time.perf_counter()
    for tex_source, display in single:
        katex.render(tex_source, display)
    rate("warm, one equation per call", len(single), time.perf_counter() - start)

    for size in (4, 32):
        chunk = batch[: args.count // 2] if size == 4 else batch[args.count // 2 :]
        start = time.perf_counter()
        for i in range(0, len(chunk), size):
            katex.render_many(chunk[i : i + size])
        rate(f"warm, batches of {size}", len(chunk), time.perf_counter() - start)

    start = time.perf_counter()
    katex.render_many(large)
    rate("warm, one batch (a whole site)", len(large), time.perf_counter() - start)

    start = time.perf_counter()
    for tex_source, display in single + large:
        katex.render(tex_source, display)
    rate("memoized", len(single + large), time.perf_counter() - start)

    memo = katex.new_results()
    katex.close()
    start = time.perf_counter()
    again = KatexRenderer(memo)
    again.render_many(eqs)
    for tex_source, display in single + large:
        again.render(tex_source, display)
    rate(
        "new renderer from the memo (+ one batch)", len(single + large), time.perf_counter() - start
    )
    print(f"V8 calls of the renderer given the memo: {again.v8_calls}")


if __name__ == "__main__":
    main()
