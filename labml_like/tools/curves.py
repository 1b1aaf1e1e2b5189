"""
---
title: Training curves
summary: The loss and accuracy of a run against epochs, as an SVG file written by hand.
---

# Training curves
"""

from pathlib import Path

from labml_like.tools.errors import TrainingError
from labml_like.tools.metrics import read_metrics


def plot_run(run_dir: Path, out: Path | None = None) -> Path:
    """
    ## Plotting a run

    Draw the loss and the accuracy against epochs, for training (every metric row) and for the
    test set (every epoch), as one SVG file, `curves.svg` in the run directory unless `out`
    is given. We write the SVG by hand: it is a few lines of text, and the experiment then
    needs no plotting library.
    """
    rows = read_metrics(run_dir)
    train = [r for r in rows if r["split"] == "train"]
    test = [r for r in rows if r["split"] == "test"]
    if not train:
        raise TrainingError(f"{run_dir / 'metrics.jsonl'}: no training rows to plot")
    panels = [
        ("loss", [("train", train, "loss"), ("test", test, "loss")]),
        ("accuracy", [("train", train, "accuracy"), ("test", test, "accuracy")]),
    ]
    svg = _svg_chart(panels, title=f"Training curves: {run_dir.name}")
    out = out or run_dir / "curves.svg"
    out.write_text(svg)
    return out


_COLORS = {"train": "#1f6fb2", "test": "#d1495b"}


def _svg_chart(panels, title: str, width: int = 360, height: int = 240) -> str:
    """Side-by-side line charts; each panel is `(y label, [(series name, rows, key)])`."""
    margin = {"left": 52, "right": 12, "top": 28, "bottom": 40}
    parts = []
    for p, (label, series) in enumerate(panels):
        x0 = p * width + margin["left"]
        w = width - margin["left"] - margin["right"]
        h = height - margin["top"] - margin["bottom"]
        points = [(r["epoch"], r[key]) for _, rows, key in series for r in rows]
        x_max = max(x for x, _ in points) or 1
        y_lo, y_hi = min(y for _, y in points), max(y for _, y in points)
        if label == "accuracy":
            y_lo, y_hi = 0.0, max(y_hi, 0.1)
        y_lo, y_hi = (y_lo, y_hi) if y_hi > y_lo else (y_lo - 0.5, y_hi + 0.5)

        def sx(x, x0=x0, w=w, x_max=x_max):
            return x0 + w * x / x_max

        def sy(y, h=h, y_lo=y_lo, y_hi=y_hi):
            return margin["top"] + h * (1 - (y - y_lo) / (y_hi - y_lo))

        parts.append(
            f'<rect x="{x0}" y="{margin["top"]}" width="{w}" height="{h}" '
            'fill="none" stroke="#888"/>'
        )
        for i in range(5):
            y = y_lo + (y_hi - y_lo) * i / 4
            text = f"{y:.0%}" if label == "accuracy" else f"{y:.2f}"
            parts.append(f'<text x="{x0 - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{text}</text>')
        for i in range(5):
            x = x_max * i / 4
            parts.append(
                f'<text x="{sx(x):.1f}" y="{margin["top"] + h + 16}" '
                f'text-anchor="middle">{x:g}</text>'
            )
        parts.append(f'<text x="{x0 + w / 2}" y="{height - 6}" text-anchor="middle">epoch</text>')
        parts.append(f'<text x="{x0}" y="{margin["top"] - 10}">{label}</text>')
        for name, rows, key in series:
            if not rows:
                continue
            coords = " ".join(f"{sx(r['epoch']):.1f},{sy(r[key]):.1f}" for r in rows)
            parts.append(
                f'<polyline points="{coords}" fill="none" stroke="{_COLORS[name]}" '
                'stroke-width="1.5"/>'
            )
            if len(rows) < 30:
                parts.extend(
                    f'<circle cx="{sx(r["epoch"]):.1f}" cy="{sy(r[key]):.1f}" r="2.5" '
                    f'fill="{_COLORS[name]}"/>'
                    for r in rows
                )
        for i, name in enumerate(_COLORS):
            # The legend goes where the curves are not: top right for the falling loss, bottom
            # right for the rising accuracy.
            top = margin["top"] + 14 if label == "loss" else margin["top"] + h - 22
            lx, ly = x0 + w - 60, top + 14 * i
            parts.append(
                f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 14}" y2="{ly - 4}" '
                f'stroke="{_COLORS[name]}" stroke-width="2"/>'
            )
            parts.append(f'<text x="{lx + 18}" y="{ly}">{name}</text>')
    total_width = width * len(panels)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_width}" height="{height}" '
        f'viewBox="0 0 {total_width} {height}" role="img" aria-labelledby="title" '
        'font-family="sans-serif" font-size="11">\n'
        f'<title id="title">{title}</title>\n'
        f'<rect width="{total_width}" height="{height}" fill="#fff"/>\n'
        + "\n".join(parts)
        + "\n</svg>\n"
    )
