"""
---
title: Plots of a run
summary: >
  The training curves and the confusion matrix of a run, drawn as small SVG files by hand, with
  round tick values, and colours that follow the page's theme.
---

# Plots of a run

A run's curves are a few dozen points, so we write the SVG ourselves instead of depending on a
plotting library. Three rules make the figures readable on the site:

* **Round ticks.** The axes step by 1, 2, 2.5 or 5 times a power of ten, so a reader sees 0.4, 0.6,
  0.8 rather than 0.52, 0.92, 1.31.
* **Any theme.** No background is painted. Text, axes and grid lines use `currentColor`, the colour
  of the text around the figure when the page embeds the SVG; the two series are mid-tones that read
  on a light and a dark background. Loaded as an image, the SVG is its own document: a small
  style sheet picks dark or light text from the reader's system setting, and applies only there
  (`svg:root`), never to a page that embeds the figure.
* **Translatable words.** Every label is the whole text of one `<text>` element.
"""

import math
from pathlib import Path

from labml_like.tools.errors import TrainingError
from labml_like.tools.metrics import read_metrics

# The two series: a blue and a red that keep enough contrast on white and on near-black.
COLORS = {"train": "#3b82c4", "test": "#d6455d"}
FONT_SIZE = 13

# Dark or light text when the SVG is shown as an image, which cannot inherit the page's colour.
STYLE = (
    "<style>svg:root{color:#1f1f1f}"
    "@media (prefers-color-scheme:dark){svg:root{color:#e8e8e8}}</style>"
)


def svg_document(width: float, height: float, title: str, body: list[str]) -> str:
    """An SVG with an accessible name (`title`), no background, text in `currentColor`."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" '
        f'font-size="{FONT_SIZE}" fill="currentColor">\n<title>{title}</title>\n{STYLE}\n'
        + "\n".join(body)
        + "\n</svg>\n"
    )


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """
    About `count` round values that cover `[lo, hi]`: the step is 1, 2, 2.5 or 5 times a power of
    ten, and the first and last ticks are the first multiples of it at or beyond `lo` and `hi`.
    """
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(i * step, 12) for i in range(first, last + 1)]


def tick_label(value: float, step: float, percent: bool) -> str:
    """`value` with as many decimals as the step needs (`0.25` needs two, `0.5` one)."""
    scale = 100 if percent else 1
    decimals = 0
    while decimals < 6 and abs(round(step * scale, decimals) - step * scale) > 1e-9:
        decimals += 1
    return f"{value * scale:.{decimals}f}" + ("%" if percent else "")


def panel(label: str, series: list, top: float, width: float, height: float) -> list[str]:
    """
    One chart, `label` against epochs, its box `height` high starting at `top`: each series is
    `(name, rows, key)`. Accuracy is drawn from 0, so its curve shows how far from chance it is.
    """
    left, right = 64, 16
    w = width - left - right
    points = [(r["epoch"], r[key]) for _, rows, key in series for r in rows]
    percent = label == "accuracy"
    ys = [y for _, y in points]
    y_ticks = nice_ticks(0.0 if percent else min(ys), max(ys))
    x_ticks = nice_ticks(0, max(x for x, _ in points) or 1, count=6)
    x_ticks = [x for x in x_ticks if x >= 0]

    def sx(x):
        return left + w * (x - x_ticks[0]) / (x_ticks[-1] - x_ticks[0])

    def sy(y):
        return top + height * (1 - (y - y_ticks[0]) / (y_ticks[-1] - y_ticks[0]))

    parts = [f'<text x="{left}" y="{top - 10}" font-weight="bold">{label}</text>']
    y_step, x_step = y_ticks[1] - y_ticks[0], x_ticks[1] - x_ticks[0]
    for y in y_ticks:
        parts.append(
            f'<line x1="{left}" y1="{sy(y):.1f}" x2="{left + w}" y2="{sy(y):.1f}" '
            'stroke="currentColor" stroke-opacity="0.2"/>'
        )
        parts.append(
            f'<text x="{left - 8}" y="{sy(y) + 4:.1f}" text-anchor="end">'
            f"{tick_label(y, y_step, percent)}</text>"
        )
    for x in x_ticks:
        parts.append(
            f'<text x="{sx(x):.1f}" y="{top + height + 18}" text-anchor="middle">'
            f"{tick_label(x, x_step, False)}</text>"
        )
    parts.append(
        f'<text x="{left + w / 2}" y="{top + height + 38}" text-anchor="middle">epoch</text>'
    )
    parts.append(
        f'<rect x="{left}" y="{top}" width="{w}" height="{height}" fill="none" '
        'stroke="currentColor" stroke-opacity="0.5"/>'
    )
    for name, rows, key in series:
        if not rows:
            continue
        coords = " ".join(f"{sx(r['epoch']):.1f},{sy(r[key]):.1f}" for r in rows)
        color = COLORS[name]
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>')
        if len(rows) < 30:
            parts.extend(
                f'<circle cx="{sx(r["epoch"]):.1f}" cy="{sy(r[key]):.1f}" r="3.5" fill="{color}"/>'
                for r in rows
            )
    # The legend, once, at the top right, where the falling loss is not.
    for i, name in enumerate(COLORS if label == "loss" else ()):
        ly = top + 22 + 18 * i
        lx = left + w - 80
        parts.append(
            f'<line x1="{lx}" y1="{ly - 5}" x2="{lx + 20}" y2="{ly - 5}" '
            f'stroke="{COLORS[name]}" stroke-width="3"/>'
        )
        parts.append(f'<text x="{lx + 26}" y="{ly}">{name}</text>')
    return parts


def plot_run(run_dir: Path, out: Path | None = None) -> Path:
    """
    ## The training curves

    Loss above and accuracy below, against epochs: for training, every logged row (a running
    mean over the last `log_every` steps), and for the test set, one point per epoch. The panels
    are stacked, so each keeps the full width of the page. Written to `curves.svg` in the run
    folder unless `out` is given.
    """
    rows = read_metrics(run_dir)
    train = [r for r in rows if r["split"] == "train"]
    test = [r for r in rows if r["split"] == "test"]
    if not train:
        raise TrainingError(f"{run_dir / 'metrics.jsonl'}: no training rows to plot")
    width, height, gap = 640, 220, 90
    body = []
    for i, key in enumerate(("loss", "accuracy")):
        series = [("train", train, key), ("test", test, key)]
        body += panel(key, series, top=36 + i * (height + gap), width=width, height=height)
    total = 36 + 2 * height + gap + 50
    out = out or run_dir / "curves.svg"
    title = "Loss and accuracy by epoch, for training and test"
    out.write_text(svg_document(width, total, title, body))
    return out


def confusion_svg(confusion: list[list[int]], classes: list[str], cell: int = 40) -> str:
    """
    ## The confusion matrix

    True classes in rows, predicted ones in columns; each cell is shaded by its share of the
    row, so the diagonal stands out and the common mistakes (cats taken for dogs, say) show as
    darker cells off it. Its title gives the reading order; the page gives the numbers in words.
    """
    left, top = 96, 96
    size = cell * len(classes)
    body = [
        f'<text x="{left + size / 2}" y="16" text-anchor="middle">predicted</text>',
        f'<text x="14" y="{top + size / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + size / 2})">true</text>',
    ]
    for i, name in enumerate(classes):
        y, x = top + i * cell + cell / 2 + 4, left + i * cell + cell / 2
        body.append(f'<text x="{left - 6}" y="{y}" text-anchor="end">{name}</text>')
        body.append(
            f'<text x="{x}" y="{top - 6}" transform="rotate(-45 {x} {top - 6})">{name}</text>'
        )
    for i, row in enumerate(confusion):
        total = max(sum(row), 1)
        for j, count in enumerate(row):
            share = count / total
            x, y = left + j * cell, top + i * cell
            # The shade grows with the square root of the share, so that a mistake made one
            # time in seven still shows, and stops at 65%, so that the count, in the page's text
            # colour, stays readable on a light and on a dark page.
            body.append(
                f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="#2a6fb5" '
                f'fill-opacity="{0.65 * math.sqrt(share):.3f}" stroke="currentColor" '
                'stroke-opacity="0.25"/>'
                f'<text x="{x + cell / 2}" y="{y + cell / 2 + 4}" text-anchor="middle">'
                f"{count}</text>"
            )
    title = "Confusion matrix: true classes in rows, predicted classes in columns"
    return svg_document(left + size + 8, top + size + 8, title, body)
