"""Lighthouse scores of the ConvMixer page in every configured language, against the locally
served site.

    python benchmarks/lighthouse.py [--site site] [--pages conv_mixer/index.html,...]
                                    [--preset desktop|mobile] [--uncompressed]
                                    [--save DIR]

Builds nothing: serve what `site-builder build` wrote. Runs the pinned npm `lighthouse`
(`npm ci`) with Debian's Chromium (CHROME_PATH, default /usr/bin/chromium) headless, with the
desktop preset by default (`--preset mobile` for Lighthouse's mobile emulation), and prints
performance, accessibility, best practices and SEO (0-100) per page, then PASS/MISS against the
targets (performance >= 95, the others 100), the page's metrics (FCP, LCP, TBT, CLS, speed index)
and every audit scored below 0.9. The site is served as `site-builder serve` serves it, without
the live-reload script: text gzipped, as static hosts do (`--uncompressed` sends files as they
are). `--save DIR` keeps each JSON report. Not run in CI: ~30 s a page.
"""

import argparse
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from site_builder.config import load_config  # noqa: E402
from site_builder.page import language_prefix  # noqa: E402
from site_builder.serve import make_handler  # noqa: E402

LIGHTHOUSE = REPO / "node_modules" / ".bin" / "lighthouse"
PAGE = "conv_mixer/index.html"
CATEGORIES = {"performance": 95, "accessibility": 100, "best-practices": 100, "seo": 100}
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage "
    "--disable-background-networking --disable-component-update --disable-sync"
)


def serve(folder: Path, compress: bool = True) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve `folder` on 127.0.0.1 with `site-builder serve`'s handler (text gzipped unless
    `compress` is off), without its live-reload script."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(folder, None, compress))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


METRICS = {
    "first-contentful-paint": "FCP",
    "largest-contentful-paint": "LCP",
    "total-blocking-time": "TBT",
    "cumulative-layout-shift": "CLS",
    "speed-index": "SI",
}


def run_lighthouse(url: str, preset: str, save: Path | None = None) -> dict:
    """Lighthouse's JSON report for one URL (also written to `save` when given)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={report}",
            *([f"--preset={preset}"] if preset == "desktop" else []),
            f"--only-categories={','.join(CATEGORIES)}",
            f"--chrome-flags={CHROME_FLAGS}",
        ]
        env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
        subprocess.run(command, check=True, env=env, timeout=300)
        text = report.read_text(encoding="utf-8")
    if save:
        save.write_text(text, encoding="utf-8")
    return json.loads(text)


def scores(data: dict) -> dict[str, int]:
    return {name: round(data["categories"][name]["score"] * 100) for name in CATEGORIES}


def details(data: dict) -> list[str]:
    """The metrics, then each audit that scored below 0.9 (with its display value)."""
    audits = data["audits"]
    metrics = "  ".join(f"{short} {audits[key]['displayValue']}" for key, short in METRICS.items())
    lines = [metrics]
    for key, audit in sorted(audits.items()):
        if audit.get("score") is not None and audit["score"] < 0.9 and key not in METRICS:
            lines.append(f"{key} ({audit['score']:.2f}): {audit.get('displayValue', '')}".strip())
    return lines


def default_pages() -> str:
    """The ConvMixer page in each language of pyproject.toml (`conv_mixer/index.html`, ...)."""
    config = load_config(start=REPO)
    return ",".join(language_prefix(config, lang) + PAGE for lang in config.languages)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=REPO / "site")
    parser.add_argument("--pages", default=default_pages(), help="default: %(default)s")
    parser.add_argument(
        "--preset",
        choices=["desktop", "mobile"],
        default="desktop",
        help="Lighthouse's desktop preset, or its default mobile emulation (slow 4G, 4x CPU)",
    )
    parser.add_argument("--save", type=Path, help="folder for the JSON reports")
    parser.add_argument(
        "--uncompressed", action="store_true", help="serve text files as they are, not gzipped"
    )
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        sys.exit(f"{LIGHTHOUSE} is missing: run `npm ci` in the project root")
    server, base = serve(args.site, compress=not args.uncompressed)
    ok = True
    try:
        for page in args.pages.split(","):
            save = None
            if args.save:
                args.save.mkdir(parents=True, exist_ok=True)
                save = args.save / f"{page.replace('/', '_')}.{args.preset}.json"
            data = run_lighthouse(base + page, args.preset, save)
            got = scores(data)
            line = "  ".join(f"{name} {value}" for name, value in got.items())
            passed = all(got[name] >= target for name, target in CATEGORIES.items())
            ok &= passed
            served = f"{args.preset}, {'uncompressed' if args.uncompressed else 'gzip'}"
            print(f"{page} ({served}): {line}  {'PASS' if passed else 'MISS'}")
            for detail in details(data):
                print("    " + detail)
    finally:
        server.shutdown()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
