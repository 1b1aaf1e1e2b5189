"""Lexing speed: Pygments' own loop against site_builder.lexing on the same text, in one run.

    python benchmarks/lexing.py [--modules 220] [--repeat 3]

Lexes the benchmark corpus (benchmarks/corpus.py, generated into a temporary folder) and the
standard library's top-level modules with Pygments' Python lexer, both ways, in turn, and prints
the best time of each, tokens per second and the speed-up. It also checks that both ways give
the same tokens (tests/test_lexing.py checks that on more inputs).
"""

import argparse
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

from corpus import generate_corpus  # noqa: E402
from pygments.lexers import PythonLexer  # noqa: E402

from site_builder.lexing import lex  # noqa: E402


def best_time(function, texts: list[str], repeat: int) -> tuple[float, int]:
    best, tokens = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        tokens = sum(1 for text in texts for _ in function(text))
        best = min(best, time.perf_counter() - start)
    return best, tokens


def compare(name: str, texts: list[str], repeat: int) -> None:
    lexer = PythonLexer(stripnl=False, ensurenl=False)
    for text in texts:
        if list(lex(lexer, text)) != list(lexer.get_tokens_unprocessed(text)):
            sys.exit(f"{name}: the tokens differ")
    theirs, tokens = best_time(lexer.get_tokens_unprocessed, texts, repeat)
    ours, _ = best_time(lambda text: lex(lexer, text), texts, repeat)
    size = sum(len(text) for text in texts) / 1e6
    print(f"{name}: {len(texts)} files, {size:.2f} M characters, {tokens:,} tokens")
    print(f"  Pygments' loop   {theirs:6.3f} s  ({tokens / theirs / 1e3:,.0f} k tokens/s)")
    print(f"  site_builder     {ours:6.3f} s  ({tokens / ours / 1e3:,.0f} k tokens/s)")
    print(f"  speed-up         {theirs / ours:6.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=220, help="modules in the corpus")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best is kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "corpus"
        generate_corpus(corpus, args.modules)
        texts = [path.read_text(encoding="utf-8") for path in sorted(corpus.rglob("*.py"))]
    compare("benchmark corpus", texts, args.repeat)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(stdlib.glob("*.py"))]
    compare("standard library, top level", texts, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
