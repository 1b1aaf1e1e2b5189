r"""
---
title: RandAugment, operation by operation
summary: >-
  The 14 operations of torchvision's RandAugment on whole batches of bytes, giving the same
  bytes as Pillow, with the strength of each at every magnitude.
---

# RandAugment, operation by operation

RandAugment (Cubuk et al., 2020) replaces AutoAugment's learned policy with two numbers: apply $n$
operations, each chosen uniformly at random from a fixed list, all at one magnitude $m$. The
command the ConvMixer authors publish for their CIFAR-10 script (`--ra-n=2 --ra-m=12`; the
script's own defaults are 1 and 8) calls torchvision's `RandAugment(num_ops=2, magnitude=12)` on
PIL images, so that is the transform we reproduce, operation by operation: the same 14
operations, the same strengths, the same black fill and the same arithmetic on bytes.

torchvision's magnitude scale has 31 steps, $m = 0, \dots, 30$. Each operation's strength rises
linearly from nothing at $m = 0$ to its maximum at $m = 30$; with $f = m / 30$, for an image of
$H \times W$ pixels:

| operation | what it does to the image | strength | at $m = 12$ | sign |
|---|---|---|---|---|
| identity | nothing | | | |
| shear x | slides row $y$ sideways by $s \cdot y$ pixels | $s = 0.3 f$ | 0.12 | ± |
| shear y | slides column $x$ up or down by $s \cdot x$ pixels | $s = 0.3 f$ | 0.12 | ± |
| translate x | shifts it sideways by $t$ pixels | $t = \lfloor 150 W f / 331 \rfloor$ | 5 | ± |
| translate y | shifts it up or down by $t$ pixels | $t = \lfloor 150 H f / 331 \rfloor$ | 5 | ± |
| rotate | turns it about its centre by $\theta$ degrees | $\theta = 30 f$ | 12 | ± |
| brightness | blends with black by $1 + a$ | $a = 0.9 f$ | 0.36 | ± |
| color | blends with its own grey version by $1 + a$ | $a = 0.9 f$ | 0.36 | ± |
| contrast | blends with its mean grey level by $1 + a$ | $a = 0.9 f$ | 0.36 | ± |
| sharpness | blends with a smoothed copy by $1 + a$ | $a = 0.9 f$ | 0.36 | ± |
| posterize | keeps the top $b$ bits of every byte | $b = 8 - \mathrm{round}(4 f)$ | 6 | |
| solarize | inverts every byte $\ge \tau$: $v \mapsto 255 - v$ | $\tau = 255 (1 - f)$ | 153 | |
| autocontrast | stretches each channel to the full range $0..255$ | | | |
| equalize | spreads each channel's values evenly over $0..255$ | | | |

A blend "by $k$" computes $\text{base} + k (x - \text{base})$: $k = 1$ leaves the image alone,
$k < 1$ moves it toward the base, $k > 1$ pushes it away (brightness $1.36$ brightens by 36%,
colour $0.64$ washes the colours out toward grey). The operations marked ± get a random sign per
image, each with probability ½: a shear to the left or to the right, a brighter or a darker image.

Why these operations? Each one changes the picture in a way that keeps its class: the geometric
five move the object a little (a cat slightly turned, slanted or off-centre is still a cat), and
the other eight change its tones and detail, from changes that other light or another camera
could cause (brightness, contrast, colour, sharpness) to ones no camera makes (solarize,
posterize), so that the network cannot rely on exact intensities. Identity lets some images
through unchanged.

**Bytes, rounded where Pillow rounds.** For a PIL image, torchvision calls Pillow (its
`ImageEnhance`, `ImageOps` and affine transform), which stores 8-bit channels and rounds after
every operation: a blend is clipped to $0..255$ and then truncated, the smoothing filter rounds
to the nearest integer, the grey image uses Pillow's integer weights. Each rounding moves a value
by less than one level, but they add up over two operations, and a few decide more: Pillow's
autocontrast, for instance, sends the brightest value of some channels to 254 instead of 255. We
keep the bytes in `float32` tensors (every integer below $2^{24}$ is exact there) and round at the
same places, so every operation below gives the bytes Pillow gives. The tests check this on real
images, operation by operation.

**Batching.** Each image needs its own operation, which looks like a per-image loop. Instead, at
every one of the $n$ steps we draw an operation and a sign for every image, then run each
operation once, on the group of images that drew it: at most 14 groups per step, whatever the
batch size.
"""

import math
from collections.abc import Callable

import torch

# ## Random numbers and bytes
#
# Random choices are made *per image* but drawn for the whole batch in one call, from the
# generator `gen`. The numbers are drawn on the generator's device and then moved to the
# batch's, so a CPU generator works with a GPU batch too, and the choices depend only on the
# generator's state. The [other augmentations](augment.html) draw theirs the same way.


def uniform(gen: torch.Generator, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """Uniform numbers in $[0, 1)$ drawn from `gen`, delivered on `device`."""
    return torch.rand(shape, generator=gen, device=gen.device).to(device)


def integers(gen: torch.Generator, high: int, shape: tuple[int, ...], device) -> torch.Tensor:
    r"""Integers in $0..\text{high}-1$ drawn from `gen`, delivered on `device`."""
    return torch.randint(high, shape, generator=gen, device=gen.device).to(device)


def to_bytes(x: torch.Tensor) -> torch.Tensor:
    """
    A batch as bytes $0..255$ held in `float32`: `uint8` is converted, floats in $[0, 1]$ are scaled
    and rounded. Either way the result is a new tensor, sparing the caller's data.
    """
    if x.dtype == torch.uint8:
        return x.float()
    return (x.float() * 255).round_().clamp_(0, 255)


def from_bytes(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Give the bytes `y` the kind of the original batch `x`: `uint8`, or floats in $[0, 1]$."""
    if x.dtype == torch.uint8:
        return y.to(torch.uint8)
    return (y / 255).to(x.dtype)


MAX_MAGNITUDE = 30
OPS = (
    "identity",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
    "rotate",
    "brightness",
    "color",
    "contrast",
    "sharpness",
    "posterize",
    "solarize",
    "autocontrast",
    "equalize",
)
GEOMETRIC_OPS = ("shear_x", "shear_y", "translate_x", "translate_y", "rotate")
BLEND_OPS = ("brightness", "color", "contrast", "sharpness")


def op_strength(op: str, m: int, height: int = 32, width: int = 32) -> float:
    r"""
    The strength of operation `op` at magnitude `m`, before its sign, for an image of the given
    size: entry $m$ of torchvision's 31-entry table. The tables are evenly spaced `float32` values
    (`torch.linspace`), so we build them the same way and get the very same numbers. A translation
    is a whole number of pixels: torchvision truncates it with `int`.
    """
    if not 0 <= m <= MAX_MAGNITUDE:
        raise ValueError(f"RandAugment magnitude must be in 0..{MAX_MAGNITUDE}, got {m}")

    def entry(start: float, end: float) -> float:
        return torch.linspace(start, end, MAX_MAGNITUDE + 1)[m].item()

    if op in ("shear_x", "shear_y"):
        return entry(0.0, 0.3)
    if op == "translate_x":
        return float(int(entry(0.0, 150 / 331 * width)))
    if op == "translate_y":
        return float(int(entry(0.0, 150 / 331 * height)))
    if op == "rotate":
        return entry(0.0, 30.0)
    if op in BLEND_OPS:
        return entry(0.0, 0.9)
    if op == "posterize":
        return float(8 - round(4 * m / MAX_MAGNITUDE))
    if op == "solarize":
        return entry(255.0, 0.0)
    if op in OPS:
        return 0.0
    raise ValueError(f"unknown RandAugment operation {op!r}")


# ### The colour operations
#
# Each takes a batch of bytes `[N, 3, H, W]` held in `float32` and one value per image `[N]`: the
# blend factor $k$, the number of bits, or the threshold.


def blend(base: torch.Tensor, x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    r"""
    Pillow's `Image.blend` on bytes: $\text{base} + k (x - \text{base})$ computed in `float32`,
    clipped to $0..255$ and truncated to an integer.
    """
    return (base + k.view(-1, 1, 1, 1) * (x - base)).clamp(0, 255).floor()


def grey(x: torch.Tensor) -> torch.Tensor:
    r"""
    The grey level `[N, 1, H, W]` of each pixel, as Pillow converts RGB to its "L" mode: the ITU-R
    601 luma $0.299 R + 0.587 G + 0.114 B$ in fixed point, with weights out of $2^{16}$ and rounding
    to the nearest integer. Every intermediate is an integer below $2^{24}$, exact in `float32`.
    """
    weighted = 19595 * x[:, 0] + 38470 * x[:, 1] + 7471 * x[:, 2] + 32768
    return (weighted / 65536).floor()[:, None]


def brightness(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    return blend(torch.zeros_like(x), x, k)


def color(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    # The base is the image's own grey version, so $k$ scales each pixel's distance from grey: its
    # saturation.
    return blend(grey(x), x, k)


def contrast(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    # The base is one flat grey: the mean grey level of the image, rounded half up (Pillow's
    # `int(mean + 0.5)`). Integer arithmetic gives that rounding exactly:
    # $\lfloor \frac{2 S + n}{2 n} \rfloor$ for a sum $S$ over $n$ pixels.
    levels = grey(x).long().sum((1, 2, 3), keepdim=True)
    count = x.shape[2] * x.shape[3]
    mean = torch.div(2 * levels + count, 2 * count, rounding_mode="floor")
    return blend(mean.to(x.dtype), x, k)


def sharpness(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    r"""
    The base is a smoothed copy: Pillow's "smooth" filter, a $3 \times 3$ kernel with weight 5 in
    the centre and 1 around it, divided by 13 and rounded. Pillow leaves the outermost rows and
    columns as they are, so there the smoothed copy equals the image and the blend changes
    nothing.
    """
    h, w = x.shape[-2:]
    total = 4 * x[..., 1:-1, 1:-1]  # the centre counts 4 times here and once more in the loop
    for dy in range(3):
        for dx in range(3):
            total = total + x[..., dy : h - 2 + dy, dx : w - 2 + dx]
    # Round $S / 13$ to the nearest integer: $\lfloor (2S + 13) / 26 \rfloor$. $S / 13$ is never
    # exactly halfway between two integers, as 13 is odd, so `float32` cannot tip the result.
    smoothed = x.clone()
    smoothed[..., 1:-1, 1:-1] = torch.div(2 * total + 13, 26, rounding_mode="floor")
    return blend(smoothed, x, k)


def posterize(x: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    # Keeping the top $b$ bits clears the low $8 - b$: round down to a multiple of $2^{8 - b}$.
    step = (2.0 ** (8 - bits)).view(-1, 1, 1, 1)
    return torch.div(x, step, rounding_mode="floor") * step


def solarize(x: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    return torch.where(x >= threshold.view(-1, 1, 1, 1), 255 - x, x)


def autocontrast(x: torch.Tensor, unused: torch.Tensor | None = None) -> torch.Tensor:
    r"""
    Map each channel's darkest value $lo$ to 0 and its brightest $hi$ to 255 through the line
    $v \mapsto \lfloor v \cdot s - lo \cdot s \rfloor$ with $s = 255 / (hi - lo)$; a channel with a
    single value is left alone. Pillow computes $s$ and the line in double precision, where
    $255 / (hi - lo)$ is rounded, and for some ranges the brightest value then lands just below 255
    and truncates to 254. We evaluate the same expression in `float64` (on the CPU for Apple's MPS,
    which has no `float64`), and so land on the same byte.
    """
    work = x.cpu() if x.device.type == "mps" else x
    values = work.double()
    low, high = values.amin((2, 3), keepdim=True), values.amax((2, 3), keepdim=True)
    # `255 / t` would be computed as `255 * (1 / t)`, rounded twice; dividing tensors rounds once.
    scale = torch.full_like(high, 255.0) / (high - low).clamp_min(1)
    stretched = (values * scale + -low * scale).floor().clamp(0, 255)
    return torch.where(high > low, stretched, values).to(x.dtype).to(x.device)


def equalize(x: torch.Tensor, unused: torch.Tensor | None = None) -> torch.Tensor:
    r"""
    Histogram equalization, per channel, as Pillow's `ImageOps.equalize` does it. With $h_i$
    pixels of value $i$, $n$ pixels in all and $h_{last}$ of them at the highest value present, the
    step is $q = \lfloor (n - h_{last}) / 255 \rfloor$ and value $i$ becomes
    $\min(255, \lfloor (\lfloor q / 2 \rfloor + \sum_{j < i} h_j) / q \rfloor)$: each value moves to
    about 255 times the fraction of pixels darker than it, so that the values end up spread
    evenly. With $q = 0$ (fewer than 255 pixels below the top value, as with a single value) the
    channel is left alone.
    """
    n, c, h, w = x.shape
    values = x.long().reshape(n * c, h * w)
    counts = torch.zeros(n * c, 256, dtype=torch.long, device=x.device)
    counts.scatter_add_(1, values, torch.ones_like(values))
    top = counts.gather(1, values.amax(1, keepdim=True))
    step = torch.div(h * w - top, 255, rounding_mode="floor")
    below = counts.cumsum(1) - counts  # $\sum_{j < i} h_j$ for every $i$
    table = torch.div(step // 2 + below, step.clamp_min(1), rounding_mode="floor").clamp(max=255)
    table = torch.where(step > 0, table, torch.arange(256, device=x.device))
    return table.gather(1, values).view(n, c, h, w).to(x.dtype)


def identity(x: torch.Tensor, unused: torch.Tensor | None = None) -> torch.Tensor:
    return x


COLOUR_OPS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "identity": identity,
    "brightness": brightness,
    "color": color,
    "contrast": contrast,
    "sharpness": sharpness,
    "posterize": posterize,
    "solarize": solarize,
    "autocontrast": autocontrast,
    "equalize": equalize,
}


# ### The geometric operations
#
# Pillow moves pixels by asking, for every *output* pixel, which input pixel to read. Its affine
# transform takes six numbers $(a, b, c, d, e, f)$ and reads the input at
#
# $$x_{in} = a x + b y + c, \qquad y_{in} = d x + e y + f$$
#
# where $(x, y)$ is the centre of the output pixel, $(j + ½, i + ½)$ for row $i$ and column $j$.
# With nearest-neighbour sampling (torchvision's default) the pixel read is
# $(\lfloor y_{in} \rfloor, \lfloor x_{in} \rfloor)$, and an output pixel whose source falls
# outside the image gets the fill: black, torchvision's default. Each function below returns these
# six numbers, for shift or strength `v` and an image of `height` by `width` pixels.


def shear_x(v: float, height: int, width: int) -> tuple[float, ...]:
    # Shear about the top-left corner (torchvision moved the centre there from the image centre in
    # pull request #5285 to match Pillow-based reference implementations): row $y$ reads from
    # $v \cdot y$ pixels to its right.
    return (1.0, v, 0.0, 0.0, 1.0, 0.0)


def shear_y(v: float, height: int, width: int) -> tuple[float, ...]:
    return (1.0, 0.0, 0.0, v, 1.0, 0.0)


def translate_x(v: float, height: int, width: int) -> tuple[float, ...]:
    # Output column $x$ reads input column $x - v$: the content moves $v$ pixels to the right.
    return (1.0, 0.0, -v, 0.0, 1.0, 0.0)


def translate_y(v: float, height: int, width: int) -> tuple[float, ...]:
    return (1.0, 0.0, 0.0, 0.0, 1.0, -v)


def rotate(v: float, height: int, width: int) -> tuple[float, ...]:
    r"""
    Counter-clockwise by `v` degrees about the image centre $c = (W/2, H/2)$, as Pillow's
    `Image.rotate` builds it: output point $p$ reads the input at $c + R_\theta (p - c)$, with the
    usual rotation matrix $R_\theta = \begin{pmatrix}\cos\theta & -\sin\theta\\ \sin\theta &
    \cos\theta\end{pmatrix}$. With $y$ pointing down, $R_\theta$ turns points clockwise on the
    screen, so the picture turns counter-clockwise. Pillow rounds $\cos$ and $\sin$ to 15
    decimals first; so do we.
    """
    angle = -math.radians(v % 360)  # Pillow first brings the angle into [0, 360)
    cos, sin = round(math.cos(angle), 15), round(math.sin(angle), 15)
    cx, cy = width / 2, height / 2
    return (cos, sin, cos * -cx + sin * -cy + cx, -sin, cos, -sin * -cx + cos * -cy + cy)


GEOMETRIC_MATRICES = {
    "shear_x": shear_x,
    "shear_y": shear_y,
    "translate_x": translate_x,
    "translate_y": translate_y,
    "rotate": rotate,
}


def fixed_point(matrix: tuple[float, ...]) -> list[int]:
    r"""
    Pillow evaluates the map in 16.16 fixed point: each coefficient becomes the nearest multiple of
    $2^{-16}$, and the offsets absorb the half-pixel shift to pixel centres, so that input column
    $\lfloor x_{in} \rfloor$ is an integer division by $2^{16}$. Doing the same in integers lands on
    the very same pixel even where $x_{in}$ is within a rounding error of a pixel boundary.
    (Pillow uses floating point for pure translations; with whole-pixel shifts the two agree.)
    """
    a, b, c, d, e, f = matrix

    def fix(value: float) -> int:
        return math.floor(value * 65536 + 0.5)

    return [fix(a), fix(b), fix(c + a * 0.5 + b * 0.5), fix(d), fix(e), fix(f + d * 0.5 + e * 0.5)]


def warp(x: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """
    Resample each image of `x` `[N, 3, H, W]` through its own fixed-point matrix (`matrices`,
    `int64` `[N, 6]`), nearest neighbour, with black where the source is outside the image.
    """
    n, _, h, w = x.shape
    m = matrices.to(x.device).view(n, 6, 1, 1).unbind(1)
    col = torch.arange(w, device=x.device).view(1, 1, w)
    row = torch.arange(h, device=x.device).view(1, h, 1)
    src_col = torch.div(m[2] + m[0] * col + m[1] * row, 65536, rounding_mode="floor")  # [N, H, W]
    src_row = torch.div(m[5] + m[3] * col + m[4] * row, 65536, rounding_mode="floor")
    inside = (src_col >= 0) & (src_col < w) & (src_row >= 0) & (src_row < h)
    # One gather picks every pixel of every image, as in `random_crop`; outside pixels read pixel
    # $(0, 0)$ and are then blacked out.
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    picked = x.permute(0, 2, 3, 1)[batch, src_row * inside, src_col * inside]  # [N, H, W, 3]
    return (picked * inside[..., None]).permute(0, 3, 1, 2)


def apply_op(x: torch.Tensor, op: str, m: int, positive: torch.Tensor) -> torch.Tensor:
    """
    Apply RandAugment operation `op` at magnitude `m` to every image of the byte batch `x`, with the
    sign + where `positive` (a boolean `[N]`) is true and - elsewhere.
    """
    h, w = x.shape[-2:]
    v = op_strength(op, m, h, w)
    sign = (~positive).long()  # 0 picks the first entry (+v), 1 the second (-v)
    if op in GEOMETRIC_OPS:
        matrices = [fixed_point(GEOMETRIC_MATRICES[op](value, h, w)) for value in (v, -v)]
        return warp(x, torch.tensor(matrices, device=x.device)[sign])
    # The blend factor $1 \pm a$ is worked out in double precision, as torchvision does before
    # handing it to Pillow, which then uses it as a `float32`.
    values = (1.0 + v, 1.0 - v) if op in BLEND_OPS else (v, v)
    return COLOUR_OPS[op](x, torch.tensor(values, dtype=x.dtype, device=x.device)[sign])


def rand_augment(x: torch.Tensor, n: int, m: int, gen: torch.Generator) -> torch.Tensor:
    r"""
    Apply $n$ randomly chosen operations at magnitude $m \in 0..30$ to every image of the batch.
    """
    if not 0 <= m <= MAX_MAGNITUDE:
        raise ValueError(f"RandAugment magnitude must be in 0..{MAX_MAGNITUDE}, got {m}")
    if n == 0:
        return x
    images = to_bytes(x)
    size = x.shape[0]
    for _ in range(n):
        # One operation per image, and a sign per image (used only by the signed operations).
        op = integers(gen, len(OPS), (size,), x.device)
        positive = uniform(gen, (size,), x.device) < 0.5
        for k, name in enumerate(OPS):
            group = (op == k).nonzero()[:, 0]
            if group.numel() and name != "identity":
                images[group] = apply_op(images[group], name, m, positive[group])
    return from_bytes(images, x)
