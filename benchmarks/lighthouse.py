"""Lighthouse scores of the ConvMixer page, en and zh, against the locally served site.

    python benchmarks/lighthouse.py [--site site] [--pages conv_mixer/index.html,...]

Builds nothing: serve what `site-builder build` wrote. Runs the pinned npm `lighthouse`
(`npm ci`) with Debian's Chromium (CHROME_PATH, default /usr/bin/chromium) headless, with the
desktop preset by default (`--preset mobile` for Lighthouse's mobile emulation), and prints
performance, accessibility, best practices and SEO (0-100) per page, then PASS/MISS against the
targets (performance >= 95, the others 100). Not run in CI: ~30 s a page.
"""

import argparse
import functools
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIGHTHOUSE = REPO / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = {"performance": 95, "accessibility": 100, "best-practices": 100, "seo": 100}
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage "
    "--disable-background-networking --disable-component-update --disable-sync"
)


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def scores(url: str, preset: str) -> dict[str, int]:
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
        data = json.loads(report.read_text(encoding="utf-8"))
    return {name: round(data["categories"][name]["score"] * 100) for name in CATEGORIES}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=REPO / "site")
    parser.add_argument("--pages", default="conv_mixer/index.html,zh/conv_mixer/index.html")
    parser.add_argument(
        "--preset",
        choices=["desktop", "mobile"],
        default="desktop",
        help="Lighthouse's desktop preset, or its default mobile emulation (slow 4G, 4x CPU)",
    )
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        sys.exit(f"{LIGHTHOUSE} is missing: run `npm ci` in the project root")
    server, base = serve(args.site)
    ok = True
    try:
        for page in args.pages.split(","):
            got = scores(base + page, args.preset)
            line = "  ".join(f"{name} {value}" for name, value in got.items())
            passed = all(got[name] >= target for name, target in CATEGORIES.items())
            ok &= passed
            print(f"{page} ({args.preset}): {line}  {'PASS' if passed else 'MISS'}")
    finally:
        server.shutdown()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
