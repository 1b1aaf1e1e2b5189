"""Tests for the annotated ConvMixer model (labml_like/conv_mixer)."""

import os
import pickle
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labml_like.conv_mixer import (
    ClassificationHead,
    ConvMixer,
    ConvMixerLayer,
    PatchEmbeddings,
    conv_mixer,
)

CIFAR10 = Path(
    os.environ.get(
        "LABML_LIKE_CIFAR10", Path(__file__).resolve().parents[2] / "shared/data/cifar10"
    )
)
# Training-set channel means and stds, from shared/data/cifar10/README.md.
CIFAR10_MEAN = torch.tensor([125.3, 122.9, 113.9]).view(1, 3, 1, 1)
CIFAR10_STD = torch.tensor([62.5, 61.9, 66.5]).view(1, 3, 1, 1)


def n_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def load_cifar10_batch(n_images: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `n_images` of data_batch_1, normalized, as `[N, 3, 32, 32]` floats and labels."""
    with open(CIFAR10 / "cifar-10-batches-py" / "data_batch_1", "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    data = torch.as_tensor(batch[b"data"][:n_images])
    labels = torch.as_tensor(batch[b"labels"][:n_images])
    assert data.dtype == torch.uint8 and data.shape == (n_images, 3072)
    images = data.view(n_images, 3, 32, 32).float()
    return (images - CIFAR10_MEAN) / CIFAR10_STD, labels


@pytest.mark.parametrize(
    ("d_model", "n_layers", "kernel_size", "patch_size", "image_size", "n_classes"),
    [(16, 1, 3, 1, 8, 10), (32, 3, 5, 2, 32, 10), (24, 2, 9, 4, 32, 7), (8, 2, 7, 7, 28, 3)],
)
def test_shapes(d_model, n_layers, kernel_size, patch_size, image_size, n_classes):
    model = conv_mixer(d_model, n_layers, kernel_size, patch_size, n_classes)
    x = torch.randn(2, 3, image_size, image_size)
    grid = image_size // patch_size
    z = model.patch_emb(x)
    assert z.shape == (2, d_model, grid, grid)
    for layer in model.conv_mixer_layers:
        z = layer(z)
        assert z.shape == (2, d_model, grid, grid)
    assert model(x).shape == (2, n_classes)


def test_non_square_images():
    model = conv_mixer(d_model=8, n_layers=1, kernel_size=3, patch_size=2, n_classes=5)
    assert model.patch_emb(torch.randn(3, 3, 8, 12)).shape == (3, 8, 4, 6)
    assert model(torch.randn(3, 3, 8, 12)).shape == (3, 5)


def test_parameter_count_convmixer_256_8():
    assert n_parameters(conv_mixer()) == 594_186


@pytest.mark.parametrize(
    ("h", "d", "k", "p", "c_in", "n_cls"), [(256, 8, 5, 2, 3, 10), (48, 3, 7, 4, 1, 100)]
)
def test_parameter_count_matches_page_formula(h, d, k, p, c_in, n_cls):
    model = ConvMixer(
        ConvMixerLayer(h, k),
        d,
        PatchEmbeddings(h, p, in_channels=c_in),
        ClassificationHead(h, n_cls),
    )
    assert n_parameters(model.patch_emb) == c_in * p * p * h + 3 * h
    assert n_parameters(model.conv_mixer_layers[0]) == h * k * k + h * h + 6 * h
    assert n_parameters(model.classification) == h * n_cls + n_cls
    assert (
        n_parameters(model)
        == c_in * p * p * h + 3 * h + d * (h * k * k + h * h + 6 * h) + h * n_cls + n_cls
    )


def test_layers_are_independent_copies():
    template = ConvMixerLayer(8, 3)
    model = ConvMixer(template, 3, PatchEmbeddings(8, 2), ClassificationHead(8, 10))
    layers = list(model.conv_mixer_layers)
    assert all(layer is not template for layer in layers)
    weights = [layer.point_wise_conv.weight for layer in layers]
    assert len({w.data_ptr() for w in weights}) == 3
    assert not torch.equal(weights[0], weights[1])
    assert not any(torch.equal(w, template.point_wise_conv.weight) for w in weights)


def test_point_wise_step_has_no_residual():
    # With the last BatchNorm's scale and shift at zero, the output is exactly zero. A residual
    # around the point-wise step (or the whole layer) would pass the input through instead.
    torch.manual_seed(0)
    layer = ConvMixerLayer(8, 3)
    with torch.no_grad():
        layer.point_wise_norm.weight.zero_()
        layer.point_wise_norm.bias.zero_()
    out = layer(torch.randn(4, 8, 6, 6))
    assert torch.count_nonzero(out) == 0


def test_depth_wise_step_has_residual():
    # With the first BatchNorm's scale and shift at zero, the depth-wise branch contributes
    # nothing, so z'_l = z_{l-1} and the layer reduces to the point-wise step applied to the
    # input. Without the residual, the point-wise step would see zeros instead.
    torch.manual_seed(0)
    layer = ConvMixerLayer(8, 3).eval()
    with torch.no_grad():
        layer.depth_wise_norm.weight.zero_()
        layer.depth_wise_norm.bias.zero_()
        layer.point_wise_norm.running_mean.normal_()
        layer.point_wise_norm.running_var.uniform_(0.5, 2.0)
    x = torch.randn(4, 8, 6, 6)
    point_wise_only = layer.point_wise_norm(layer.activation(layer.point_wise_conv(x)))
    torch.testing.assert_close(layer(x), point_wise_only)
    assert not torch.allclose(
        point_wise_only, layer.point_wise_norm(layer.activation(layer.point_wise_conv(0 * x)))
    )


@pytest.mark.parametrize(("n_layers", "reaches"), [(7, False), (8, True)])
def test_receptive_field_grows_by_k_minus_1_per_layer(n_layers, reaches):
    # On a 16 x 16 grid with k = 5, the top-left location reaches the bottom-right one (15 patches
    # away) only when d * (k - 1) / 2 >= 15, that is with 8 layers but not 7. Eval mode, because in
    # training mode BatchNorm's batch statistics connect every location to every other.
    torch.manual_seed(0)
    layers = nn.Sequential(*(ConvMixerLayer(4, 5) for _ in range(n_layers))).eval()
    z = torch.randn(1, 4, 16, 16, requires_grad=True)
    layers(z)[0, :, 0, 0].sum().backward()
    assert (z.grad[0, :, 15, 15].abs().sum() > 0) == reaches
    assert z.grad[0, :, 0, 0].abs().sum() > 0


@pytest.mark.parametrize(
    ("kernel_size", "n_layers", "row", "col"), [(3, 1, 5, 5), (5, 2, 8, 8), (5, 2, 1, 14)]
)
def test_gradient_is_non_zero_exactly_in_the_predicted_window(kernel_size, n_layers, row, col):
    # The page's notebook cell draws this map: one output location depends on the input patches
    # at most n_layers * (k - 1) / 2 away in each direction (clipped by the grid's edge), and on
    # every one of them.
    torch.manual_seed(0)
    layers = nn.Sequential(*(ConvMixerLayer(4, kernel_size) for _ in range(n_layers))).eval()
    z = torch.randn(1, 4, 16, 16, requires_grad=True)
    layers(z)[0, :, row, col].sum().backward()
    reach = n_layers * (kernel_size - 1) // 2
    predicted = torch.zeros(16, 16, dtype=torch.bool)
    predicted[max(row - reach, 0) : row + reach + 1, max(col - reach, 0) : col + reach + 1] = True
    assert torch.equal(z.grad[0].abs().sum(dim=0) > 0, predicted)


def page_grids(text: str) -> dict[str, torch.Tensor]:
    """The grids of the page's `text` block whose header names them, by name, as float tensors."""
    block = re.search(r"```text\n(.*?)```", text, re.S)
    assert block, "the page no longer shows its example grids"
    header, *rows = [line.strip("\n") for line in block.group(1).splitlines()]
    names = re.findall(r"\S+(?: \S+)*", header)  # names separated by two spaces or more
    starts = [header.index(name) for name in names] + [None]
    grids = {}
    for name, start, end in zip(names, starts[:-1], starts[1:], strict=True):
        cells = [row[start:end].split() for row in rows]
        grids[name] = torch.tensor([[float(v) for v in cell] for cell in cells if cell])
    return grids


def test_the_pages_one_filter_example_is_what_the_depth_wise_conv_computes():
    grids = page_grids(ConvMixerLayer.__doc__)
    weights, grid, expected = grids["filter w"], grids["input grid"], grids["output grid"]
    assert weights.shape == (3, 3) and grid.shape == expected.shape == (5, 5)
    assert torch.count_nonzero(grid) == 1
    layer = ConvMixerLayer(2, kernel_size=3)
    with torch.no_grad():
        layer.depth_wise_conv.weight[0, 0] = weights
        layer.depth_wise_conv.bias.zero_()
        x = torch.stack([grid, torch.zeros(5, 5)]).unsqueeze(0)  # the other channel stays 0
        out = layer.depth_wise_conv(x)
    torch.testing.assert_close(out[0, 0], expected)
    assert torch.count_nonzero(out[0, 1]) == 0


def test_the_pages_depth_wise_separable_weight_counts_are_the_layers():
    claim = re.search(
        r"For \$h = (\d+)\$ and \$k = (\d+)\$\s+that is ([\d,]+) weights instead of ([\d,]+),"
        r"\s+about (\d+) times fewer",
        ConvMixerLayer.__doc__,
    )
    assert claim, "the page no longer states the depth-wise separable weight counts"
    h, k, separable, full, ratio = (int(g.replace(",", "")) for g in claim.groups())
    layer = ConvMixerLayer(h, k)
    counted = layer.depth_wise_conv.weight.numel() + layer.point_wise_conv.weight.numel()
    assert counted == separable
    assert nn.Conv2d(h, h, k).weight.numel() == full
    assert round(full / separable) == ratio


def test_head_returns_logits_of_the_grid_average():
    torch.manual_seed(0)
    head = ClassificationHead(8, 5)
    z = torch.randn(3, 8, 4, 4) * 5
    logits = head(z)
    torch.testing.assert_close(logits, z.mean(dim=(2, 3)) @ head.linear.weight.T + head.linear.bias)
    # Logits are unnormalized: neither probabilities nor log-probabilities.
    assert not torch.allclose(logits.exp().sum(dim=1), torch.ones(3))
    assert not torch.allclose(logits.sum(dim=1), torch.ones(3))


def test_channels_last_and_bf16_autocast_match_float32():
    torch.manual_seed(0)
    model = conv_mixer(d_model=16, n_layers=2, kernel_size=5, patch_size=2).eval()
    x = torch.randn(4, 3, 16, 16)
    reference = model(x)
    model = model.to(memory_format=torch.channels_last)
    channels_last = model(x.to(memory_format=torch.channels_last))
    torch.testing.assert_close(channels_last, reference, atol=1e-5, rtol=1e-4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low_precision = model(x.to(memory_format=torch.channels_last))
    assert low_precision.dtype == torch.bfloat16
    torch.testing.assert_close(low_precision.float(), reference, atol=0.1, rtol=0.05)


@pytest.mark.parametrize("kernel_size", [0, 4, -3])
def test_even_or_non_positive_kernel_is_refused(kernel_size):
    with pytest.raises(ValueError, match="kernel_size must be a positive odd number"):
        ConvMixerLayer(8, kernel_size)


def test_image_size_not_multiple_of_patch_is_refused():
    model = conv_mixer(d_model=8, n_layers=1, kernel_size=3, patch_size=4)
    with pytest.raises(ValueError, match="image size 30x32 is not a multiple of patch_size 4"):
        model(torch.randn(1, 3, 30, 32))


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="patch_size"):
        PatchEmbeddings(8, 0)
    with pytest.raises(ValueError, match="n_layers"):
        ConvMixer(ConvMixerLayer(8, 3), 0, PatchEmbeddings(8, 2), ClassificationHead(8, 10))


@pytest.mark.train
def test_training_steps_on_real_cifar10_reduce_the_loss():
    torch.manual_seed(0)
    images, labels = load_cifar10_batch(256)
    assert len(set(labels.tolist())) == 10
    model = conv_mixer(d_model=32, n_layers=2, kernel_size=5, patch_size=4)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[0] > 2.0  # about ln(10) = 2.30 at the start
    assert losses[-1] < 0.8 * losses[0]  # 2.35 -> 1.22 when written
