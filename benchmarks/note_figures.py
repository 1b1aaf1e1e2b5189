"""The figures quoted in the experiment's notes that come from a measurement, not a source.

    python benchmarks/note_figures.py [--data-dir ../shared/data/cifar10] [--full-dir /work/data]

Prints, on CPU in under a minute:
- how much scaling one point-wise convolution's weight and bias by 3 changes its layer's output,
  with GELU (as in ConvMixer) and with ReLU in its place (the `paper` preset's note);
- the forward multiply-adds per image of ConvMixer-256/8 k5 and ConvMixer-384/8 k7, and what 40
  epochs of the second cost against 100 of the first (the `fast` preset's note);
- which training images `train_limit=5000` keeps in each data folder (the smoke preset's note);
- the channel means and standard deviations of each data folder against `MEAN` and `STD`.
"""

import argparse
import copy
from pathlib import Path

import torch
from torch import nn

from labml_like.conv_mixer import ConvMixer, ConvMixerLayer, conv_mixer
from labml_like.experiments.cifar10 import MEAN, STD, load_cifar10, normalize


def scale_sensitivity(images: torch.Tensor, activation: type[nn.Module], layer: int) -> float:
    """Relative L2 change of layer `layer`'s output when its point-wise conv is scaled by 3."""
    torch.manual_seed(0)
    model = conv_mixer(256, 8, 5, 2).train()
    for module in model.modules():
        if hasattr(module, "activation"):
            module.activation = activation()

    def output(net: ConvMixer) -> torch.Tensor:
        with torch.no_grad():
            z = net.patch_emb(images)
            for block in net.conv_mixer_layers[: layer + 1]:
                z = block(z)
        return z

    scaled = copy.deepcopy(model)
    block = scaled.conv_mixer_layers[layer]
    assert isinstance(block, ConvMixerLayer)
    conv = block.point_wise_conv
    assert conv.bias is not None
    with torch.no_grad():
        conv.weight *= 3
        conv.bias *= 3
    before, after = output(model), output(scaled)
    return ((after - before).norm() / before.norm()).item()


def multiply_adds(h: int, d: int, k: int, p: int = 2, n: int = 32, classes: int = 10) -> int:
    """Forward multiply-adds per image: patch embedding, d layers, head."""
    grid = (n // p) ** 2
    return grid * 3 * p * p * h + d * grid * (h * k * k + h * h) + h * classes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data/cifar10")
    parser.add_argument("--full-dir", default="/work/data", help="all 60,000 images, if present")
    args = parser.parse_args()

    subset = load_cifar10(args.data_dir, download=False)
    images = normalize(subset.train_images[:256])
    for activation in (nn.GELU, nn.ReLU):
        for layer in (0, 3):
            change = scale_sensitivity(images, activation, layer)
            print(f"{activation.__name__}, layer {layer + 1}: output changes by {change:.3g}")

    narrow, wide = multiply_adds(256, 8, 5), multiply_adds(384, 8, 7)
    depth_wise = 8 * 16 * 16 * 384 * 7 * 7 / wide
    print(f"ConvMixer-256/8 k5: {narrow / 1e6:.0f}M multiply-adds; 384/8 k7: {wide / 1e6:.0f}M")
    print(
        f"  ratio {wide / narrow:.2f}; 40 wide epochs / 100 narrow: {40 * wide / narrow / 100:.3f}"
    )
    print(f"  depth-wise share at 384/8 k7: {depth_wise:.1%}")

    folders = {"subset": subset}
    if Path(args.full_dir).is_dir():
        folders["full"] = load_cifar10(args.full_dir, download=False)
    for name, data in folders.items():
        kept = data.train_labels[:5000]
        print(f"{name}: train_limit=5000 keeps {len(kept)} images, per class", end=" ")
        print(torch.bincount(kept, minlength=10).tolist())
        pixels = data.train_images.double() / 255
        mean = [round(v - m, 4) for v, m in zip(pixels.mean((0, 2, 3)).tolist(), MEAN, strict=True)]
        std = pixels.std((0, 2, 3), unbiased=False).tolist()
        print(f"  channel means - MEAN: {mean}")
        print(f"  channel stds - STD: {[round(v - s, 4) for v, s in zip(std, STD, strict=True)]}")
    if "full" in folders:
        full = folders["full"]
        starts = [full.train_labels[i * 10000 : i * 10000 + 1000] for i in range(5)]
        same = torch.equal(torch.cat(starts), subset.train_labels)
        print(f"subset labels == first 1,000 of each full batch: {same}")
        same = torch.equal(full.train_labels[:5000], subset.train_labels)
        print(f"full[:5000] labels == subset labels: {same}")


if __name__ == "__main__":
    main()
