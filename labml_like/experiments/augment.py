r"""
---
title: Augmentation on the device
summary: >-
  Random crops, flips, colour jitter, normalization and random erasing on whole batches on the
  training device, drawn from a seeded generator, bundled in one pipeline.
---

# Augmentation on the device

A network that sees the same 50,000 pictures every epoch can memorize them: Zhang et al. (2017)
showed that common CIFAR-10 networks fit even randomly shuffled labels. Augmentation shows
it a slightly different version each time (shifted, mirrored, recoloured) that a person would
still label the same way, so the network has to learn what the classes look like rather than the
exact pixels.

The crop, the flip and the colour jitter below, like [RandAugment](randaugment.html), take a
whole batch `[N, 3, H, W]`, either `uint8` in $0..255$ or floating point in $[0, 1]$, and return
the same kind; [normalization](#normalize) then turns it into centred floats, and
[random erasing](#random_erasing) works on those. Random choices are made *per image* but drawn
for the whole batch in one call, from the generator `gen`, through the helpers `uniform` and
`integers` of the [RandAugment page](randaugment.html#uniform). [`Augment`](#Augment), at the end,
runs them all in order.
"""

import math
from dataclasses import dataclass

import torch

from labml_like.experiments.randaugment import (
    brightness,
    color,
    contrast,
    from_bytes,
    integers,
    rand_augment,
    to_bytes,
    uniform,
)


def random_crop(x: torch.Tensor, padding: int, gen: torch.Generator) -> torch.Tensor:
    """
    ## Random crop

    Pad each image by `padding` pixels on every side and cut out a window of the original size at a
    random position: the content shifts by up to `padding` pixels in each direction, independently
    per image. This is the classic CIFAR augmentation (4 pixels, from the ResNet paper's CIFAR
    recipe). Objects are rarely centred the same way twice, and this teaches the network that a
    shifted cat is still a cat.

    **Reflect, not zeros.** The ResNet recipe pads with zeros, which shows black bars at the edges:
    after normalization, black is 1.7 to 2 standard deviations below each channel's mean, in a
    straight band with a hard edge that the photo never had. Wide ResNets (Zagoruyko and Komodakis,
    2016) fill the padding with a reflection of the image instead, and so do we: the border is
    mirrored without repeating the edge pixel (`abcd|cba`), at no extra cost.
    """
    if padding == 0:
        return x
    n, _, h, w = x.shape
    if not 0 < padding < min(h, w):
        raise ValueError(f"crop padding must be in 0..{min(h, w) - 1}, got {padding}")
    # A shift $(d_y, d_x)$ in $-p..p$ per image, for rows and columns.
    shift = integers(gen, 2 * padding + 1, (2, n), x.device) - padding
    # Instead of padding the batch and slicing (which would need a different slice per image), we
    # compute which source pixel each output pixel reads. Output row $i$ reads row $i + d_y$; a row
    # index that falls outside $0..H-1$ is reflected back:
    # $-k \mapsto k$ and $H - 1 + k \mapsto H - 1 - k$.
    rows = reflect(torch.arange(h, device=x.device) + shift[0, :, None], h)  # [N, H]
    cols = reflect(torch.arange(w, device=x.device) + shift[1, :, None], w)  # [N, W]
    # One gather with broadcast indices `[N, 1, 1]`, `[N, H, 1]`, `[N, 1, W]` picks every pixel of
    # every image at once. Indexing the channels-last view gives `[N, H, W, 3]`, and the final
    # permute returns `[N, 3, H, W]` stored channels-last, the layout the trainer prefers anyway.
    batch = torch.arange(n, device=x.device)[:, None, None]
    return x.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def reflect(index: torch.Tensor, size: int) -> torch.Tensor:
    r"""Mirror indices that fall off either end of $0..\text{size}-1$ back inside."""
    index = index.abs()
    return torch.where(index >= size, 2 * (size - 1) - index, index)


def horizontal_flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """
    ## Horizontal flip

    Mirror each image left-to-right with probability ½. A mirrored truck is still a truck, so this
    doubles the variety of the training set for free. (Vertical flips would not be safe: an
    upside-down horse is rare in test photos.) We compute the flipped batch once and pick per image
    with `where`.
    """
    flip = uniform(gen, (x.shape[0],), x.device) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def color_jitter(x: torch.Tensor, strength: float, gen: torch.Generator) -> torch.Tensor:
    r"""
    ## Colour jitter

    Change the brightness, contrast and saturation of each image by independent random factors in
    $[\max(0, 1 - s), 1 + s]$. Photos of the same class come under different light and from
    different cameras; jitter keeps the network from leaning on exact colours. Unlike RandAugment
    this touches every image, but gently. This is torchvision's `ColorJitter(s, s, s)` on a PIL
    image, which the authors' longer CIFAR-10 run uses with $s = 0.2$: the same three Pillow blends
    as RandAugment's brightness, contrast and colour, applied in a random order drawn per image.
    """
    if strength == 0:
        return x
    images = to_bytes(x)
    size = x.shape[0]
    low = max(0.0, 1 - strength)
    factors = low + (1 + strength - low) * uniform(gen, (3, size), x.device).to(images.dtype)
    # Sorting three uniform numbers gives a uniformly random order of the three steps.
    order = uniform(gen, (size, 3), x.device).argsort(dim=1)
    for position in range(3):
        for k, step in enumerate((brightness, contrast, color)):
            group = (order[:, position] == k).nonzero()[:, 0]
            if group.numel():
                images[group] = step(images[group], factors[k, group])
    return from_bytes(images, x)


# ## Normalization
#
# Networks train more easily when their inputs are centred on zero with similar spread
# (LeCun et al., 1998, "Efficient BackProp"): the first layer's weights then start in a sensible
# range, and no channel dominates the gradients just because its values are larger. We subtract
# each channel's mean over the training set and divide by its standard deviation:
#
# $$\hat{x}_c = \frac{x_c / 255 - \mu_c}{\sigma_c}$$
#
# The constants are the per-channel mean and standard deviation of all pixels of the 50,000 original
# training images, on the $[0, 1]$ scale. We checked them on the two copies of the data we could
# measure: on the 5,000 training images our tests use they come out within 0.003 of these, and on
# all 50,000 of the JPEG-re-encoded copy our reference run used, the means are within 0.0002 and
# the standard deviations within 0.002. The
# `labml` preset uses $\mu = \sigma = 0.5$ instead, as the labml experiment does, which maps
# $[0, 1]$ to $[-1, 1]$: simpler, and with these statistics the channel means land within 0.11 of
# zero, but the standard deviations are about 0.5 rather than 1.
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


def normalize(
    x: torch.Tensor, mean: tuple[float, ...] = MEAN, std: tuple[float, ...] = STD
) -> torch.Tensor:
    """
    Bytes (or floats in $[0, 1]$) to normalized `float32`, per channel.
    """
    images = x.float() / 255 if x.dtype == torch.uint8 else x.float()
    mean_ = images.new_tensor(mean).view(1, -1, 1, 1)
    std_ = images.new_tensor(std).view(1, -1, 1, 1)
    return (images - mean_) / std_


def random_erasing(
    x: torch.Tensor,
    p: float,
    gen: torch.Generator,
    scale: tuple[float, float] = (0.02, 0.33),
    ratio: tuple[float, float] = (0.3, 3.3),
    attempts: int = 10,
) -> torch.Tensor:
    r"""
    ## Random erasing

    With probability $p$, blank out one random rectangle of each image (Zhong et al., 2020). The
    network can no longer rely on a single telltale part, the wheel of a car or the ears of a cat,
    because that part is sometimes missing: it learns to use all of the evidence, which also helps
    with occluded objects.

    We draw the rectangle as torchvision's `RandomErasing` does with its defaults, which the
    authors' script keeps: an area drawn uniformly between `scale` = 2% and 33% of the image (the
    paper's upper bound is 40%), and an aspect ratio (height over width) between 0.3 and 3.3, drawn
    uniformly on a log scale so that tall and wide are equally likely. Height and width are the
    rounded $\sqrt{\text{area} \cdot \text{ratio}}$ and $\sqrt{\text{area} / \text{ratio}}$. A
    rectangle must be smaller than the image in both directions; torchvision draws up to 10 times
    until one is, and leaves the image alone if none is. We draw all 10 candidates for every image
    at once and take the first that fits. The position is uniform over the places where the
    rectangle fits.

    The rectangle is filled with 0. This function runs *after* [normalization](#normalize), where 0
    is the dataset's mean colour: an unremarkable grey rectangle, not a black hole.
    """
    if p == 0:
        return x
    n, _, h, w = x.shape
    erase = uniform(gen, (n,), x.device) < p
    low, high = scale
    area = h * w * (low + (high - low) * uniform(gen, (n, attempts), x.device))
    log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_low + (log_high - log_low) * uniform(gen, (n, attempts), x.device))
    # `round` rounds halves to even, like Python's `round` that torchvision uses.
    heights = (area * aspect).sqrt().round()
    widths = (area / aspect).sqrt().round()
    fits = (heights < h) & (widths < w)
    first = fits.int().argmax(dim=1, keepdim=True)  # the first candidate that fits (0 if none)
    height, width = heights.gather(1, first)[:, 0], widths.gather(1, first)[:, 0]
    erase &= fits.any(dim=1)
    top = (uniform(gen, (n,), x.device) * (h - height + 1)).floor()
    left = (uniform(gen, (n,), x.device) * (w - width + 1)).floor()
    # The rectangle as a mask: a row is inside if $\text{top} \le i < \text{top} + \text{height}$, a
    # column likewise, and a pixel if both are. `[N, H, 1] & [N, 1, W]` broadcasts to `[N, H, W]`.
    i = torch.arange(h, device=x.device)
    j = torch.arange(w, device=x.device)
    in_rows = (i >= top[:, None]) & (i < (top + height)[:, None])
    in_cols = (j >= left[:, None]) & (j < (left + width)[:, None])
    mask = in_rows[:, :, None] & in_cols[:, None, :] & erase[:, None, None]
    return x.masked_fill(mask[:, None], 0)


@dataclass
class Augment:
    """
    ## The whole pipeline

    One configuration object for everything above, called on a `uint8` batch already on the training
    device and returning a normalized `float32` batch ready for the model. The defaults are the
    classic CIFAR recipe, a 4-pixel crop and a flip (our crop reflects the border where the classic
    one pads with zeros). The order matters:

    1. crop and flip first: they only move pixels, and moving bytes is cheapest;
    2. RandAugment and colour jitter next, on bytes rounded as Pillow rounds them, in the order of
       the authors' torchvision pipeline (which runs them on PIL images, before `ToTensor`);
    3. normalize;
    4. random erasing last, so its zeros mean "average colour".

    Use `Augment(crop_padding=0, flip=False)` for evaluation: it only normalizes.
    """

    crop_padding: int = 4
    flip: bool = True
    rand_augment_n: int = 0
    rand_augment_m: int = 0
    color_jitter: float = 0.0
    random_erasing: float = 0.0
    mean: tuple[float, ...] = MEAN
    std: tuple[float, ...] = STD

    def __call__(self, images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        x = random_crop(images, self.crop_padding, gen)
        if self.flip:
            x = horizontal_flip(x, gen)
        x = rand_augment(x, self.rand_augment_n, self.rand_augment_m, gen)
        x = color_jitter(x, self.color_jitter, gen)
        x = normalize(x, self.mean, self.std)
        return random_erasing(x, self.random_erasing, gen)
