r"""
---
title: "ConvMixer: Patches Are All You Need?"
summary: >
  An annotated PyTorch implementation of ConvMixer (Trockman and Kolter): patch embeddings,
  depth-wise and point-wise convolutions, every tensor shape, the parameter counts, and the
  reasons behind each design choice.
---

# ConvMixer: Patches Are All You Need?

This page is a PyTorch implementation of the paper
[Patches Are All You Need?](https://arxiv.org/abs/2201.09792) by Asher Trockman and J. Zico Kolter,
with a note for every step. Read the notes on one side and the code they explain on the other.

## Symbols

An image of $n \times n$ pixels is cut into patches of $p \times p$ pixels, which form a grid of
$n/p \times n/p$ patches. The paper names a model ConvMixer-$h$/$d$, as in ConvMixer-256/8.

| symbol          | meaning                                               | in the code      |
|-----------------|-------------------------------------------------------|------------------|
| $B$             | batch size: images processed together                 |                  |
| $n$             | side of the input image, in pixels                    | image size       |
| $c_{in}$        | channels of the input image (3 for RGB)               | `in_channels`    |
| $p$             | patch size: each patch covers $p \times p$ pixels     | `patch_size`     |
| $n/p$           | side of the patch grid                                |                  |
| $h$             | hidden dimension: channels of every patch vector      | `d_model`        |
| $d$             | depth: the number of ConvMixer layers                 | `n_layers`       |
| $k$             | kernel size of the depth-wise convolution (odd)       | `kernel_size`    |
| $n_{classes}$   | number of classes                                     | `n_classes`      |
| $z_l$           | the patch grid after layer $l$; $z_0$ enters layer 1  |                  |
| $\sigma$, BN    | the activation (GELU) and BatchNorm                   |                  |

Tensors are `[B, channels, height, width]`, PyTorch's order for images.

## The question the paper asks

The [Vision Transformer](https://arxiv.org/abs/2010.11929) (ViT) cuts the image into patches,
turns every patch into a vector, and lets self-attention mix information between them. Attention
compares every input with every other, so its cost grows with the square of their number: over
single pixels it would be far too expensive at usual image sizes, which is why ViT needs patches.

The paper asks whether ViT's performance comes from the transformer architecture or, at least in
part, from using patches as the input. To probe this it builds a very plain network that keeps
ViT's outline and drops attention entirely:

* **patches in**: a strided convolution turns each $p \times p$ patch into an $h$-dimensional
  vector, as ViT's patch embedding does;
* **separate mixing of locations and channels**: a *depth-wise* convolution mixes each channel
  over nearby patches, then a *point-wise* ($1 \times 1$) convolution mixes the channels within
  each patch;
* **isotropic**: every layer keeps the same width $h$ and the same $n/p \times n/p$ grid. There
  is no pyramid of shrinking resolutions as in ResNet.

The paper reports that this network outperforms ViT and MLP-Mixer models of similar size, and
calls that "some evidence" that patches matter: evidence, not proof. ConvMixer differs from ViT in
more than keeping patches. Its convolutions only combine nearby locations, a built-in assumption
of locality that attention does not make, so the result cannot say how much of the accuracy is
owed to the patches and how much to the convolutions. Nor do larger patches help: the paper
reports that smaller patches worked better in its experiments (its best ImageNet model uses
$p = 7$ on $224 \times 224$ images), so its results point toward finer inputs, not coarser ones.

## How it compares

| aspect | ViT | MLP-Mixer | ConvMixer |
|---|---|---|---|
| mixes locations with | self-attention | an MLP across patches | a depth-wise $k \times k$ conv |
| reach of one layer | global | global | the $k \times k$ neighbours |
| mixing weights | computed from content | fixed, shared by channels | fixed, one per channel |
| mixes channels with | a two-layer MLP | a two-layer MLP | a point-wise conv (one linear map) |
| normalization | LayerNorm | LayerNorm | BatchNorm |
| image size | as its position embeddings | as its token MLP | any multiple of $p$ |

ViT's position embeddings and the token MLP of [MLP-Mixer](https://arxiv.org/abs/2105.01601)
have one entry per patch, so both are built for one number of patches (ViT's embeddings can be
interpolated to another). ConvMixer slides one small filter per channel over the grid; information
still crosses the image, a few patches per layer ([how far](#ConvMixerLayer)).

![ConvMixer](conv_mixer.svg)

## What the paper reports

On ImageNet-1k, ConvMixer-1536/20 with $k = 9$ and $p = 7$ (about 52M parameters) reaches 81.4%
top-1 accuracy, and the paper reports that ConvMixers outperform ViT, MLP-Mixer and some of
their variants of similar parameter count and data set size, as well as ResNets. On CIFAR-10,
ConvMixers reach over 96% accuracy with as few as 0.7M parameters (for scale: by the formula in
[`ConvMixer`](#ConvMixer), ConvMixer-256/8 with $k = 9$ and $p = 1$ has 706,570). This page
measures no accuracy; these numbers are the paper's.

The [`conv_mixer()`](#conv_mixer) defaults build ConvMixer-256/8 with $p = 2$ and $k = 5$:
594,186 parameters, a model that turns a $32 \times 32$ CIFAR-10 image into a $16 \times 16$ grid of
patches. [The experiment](experiment.html) trains it on CIFAR-10 (the data is loaded by
[cifar10](../experiments/cifar10.html), the loop is in [the trainer](../experiments/trainer.html)),
and [the summary page](readme.html) gives the paper in brief.
"""

import copy

import torch
from torch import nn


class ConvMixerLayer(nn.Module):
    r"""
    ## ConvMixer layer

    One block of the network. It takes the patch grid $z_{l-1}$, shaped `[B, h, n/p, n/p]`, and
    returns a grid of exactly the same shape. It works in two steps, each a convolution followed
    by the activation $\sigma$ (GELU) and BatchNorm:

    $$z'_l = \mathrm{BN}\big(\sigma(\mathrm{DepthwiseConv}(z_{l-1}))\big) + z_{l-1}$$

    $$z_{l+1} = \mathrm{BN}\big(\sigma(\mathrm{PointwiseConv}(z'_l))\big)$$

    These are the paper's equations; its indices jump from $l-1$ to $l+1$, but all that matters
    is that the second line is this layer's output, which the next layer receives.

    **Spatial mixing.** The depth-wise convolution gives each of the $h$ channels its own
    $k \times k$ filter. Channel $c$ of a patch becomes a weighted sum of channel $c$ of the
    $k \times k$ patches around it, so information moves between *locations* but never between
    channels.

    **One filter at work.** Take one channel of a 5 × 5 grid in which only the centre patch is
    non-zero, and give that channel the 3 × 3 filter `w` ($k = 3$, bias 0):

    ```text
    filter w     input grid    output grid
    1 2 3        0 0 0 0 0     0 0 0 0 0
    4 5 6        0 0 0 0 0     0 9 8 7 0
    7 8 9        0 0 1 0 0     0 6 5 4 0
                 0 0 0 0 0     0 3 2 1 0
                 0 0 0 0 0     0 0 0 0 0
    ```

    The one active patch reaches exactly its 3 × 3 neighbourhood, and nothing else. The filter
    comes out turned by 180° because PyTorch's `Conv2d` computes a cross-correlation: output
    `[i, j]` is the sum of `w[a, b] * input[i + a - 1, j + b - 1]` over `a, b` in 0, 1, 2 (zero
    outside the grid), so the patch above-left of the active one gets `w[2, 2]`, 9. A second
    layer would spread each value over another 3 × 3, reaching a 5 × 5 block.

    **Channel mixing.** The point-wise convolution is a $1 \times 1$ convolution: at every
    location it multiplies the $h$-vector by the same $h \times h$ matrix. Information moves
    between *channels* but never between locations. This is the channel MLP of ViT and
    MLP-Mixer cut down to a single linear layer.

    **A depth-wise separable convolution.** The two steps together are the depth-wise separable
    convolution of [Xception](https://arxiv.org/abs/1610.02357) and
    [MobileNet](https://arxiv.org/abs/1704.04861): an ordinary $k \times k$ convolution from $h$
    to $h$ channels mixes locations and channels at once, with $h^2 k^2$ weights; splitting it
    into a depth-wise and a point-wise step needs only $h k^2 + h^2$. For $h = 256$ and $k = 5$
    that is 71,936 weights instead of 1,638,400, about 23 times fewer. As in MobileNet, an
    activation and a BatchNorm sit between the two steps (Xception puts neither there), and
    ConvMixer adds a residual connection around the first.

    **The residual connection goes around the spatial step only.** This is the paper's design,
    and the authors' published code does the same, but the paper does not derive it; with it,
    ConvMixers train well at depths of 20 and 32. One consequence is worth knowing: unlike in a
    transformer, whose residual stream runs unbroken from the first layer to the last, every
    gradient here passes through all $d$ point-wise convolutions.

    **Receptive field.** One depth-wise conv lets a patch see $(k-1)/2$ patches in each
    direction, so each layer widens the receptive field by $k-1$ patches. After $d$ layers an
    output location sees a window of $1 + d(k-1)$ patches per side, or $p(1 + d(k-1))$ pixels.
    With the defaults ($k=5$, $d=8$) that is 33 patches on a 16-patch grid: after the 8th layer
    even the top-left patch sees the bottom-right one, 15 patches away, since
    $8 \cdot (5-1)/2 = 16 \ge 15$; after 7 layers it could not ($14 < 15$). The point-wise convs
    do not widen the receptive field, and the [head](#ClassificationHead) only averages what the
    layers have already computed. The paper finds that ConvMixers work best with unusually large
    kernels ($k = 7$ or $9$ on ImageNet, against the $3 \times 3$ of classic convnets), with which
    distant parts of the image meet after fewer layers.

    **Parameters.** The depth-wise conv has $h k^2$ weights and $h$ biases, the point-wise conv
    $h^2$ weights and $h$ biases, and each BatchNorm a scale and a shift per channel ($2h$).
    A layer has $h k^2 + h^2 + 6h$ parameters: $256 \cdot 25 + 256^2 + 6 \cdot 256 = 73{,}472$
    for $h = 256$, $k = 5$. The point-wise conv holds about 90% of them, and it does most of the
    computation too: per location it needs $h^2$ multiply-adds against $h k^2$ for the
    depth-wise conv.
    """

    def __init__(self, d_model: int, kernel_size: int):
        """
        * `d_model` is $h$, the number of channels of every patch vector
        * `kernel_size` is $k$, the side of the depth-wise filter; it must be odd
        """
        super().__init__()
        # An odd $k$ has a centre, so padding $(k-1)/2$ patches on every side keeps the grid at
        # $n/p \times n/p$ (padding "same"). An even kernel would need uneven padding and would
        # shift the grid by half a patch in every layer, so we refuse it.
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd number, got {kernel_size}")
        # The depth-wise convolution. `groups=d_model` splits the $h$ input channels into $h$
        # groups of one, so each output channel is computed from its own input channel only:
        # $h$ filters of $k \times k$ weights, instead of the $h \times h$ filters of an ordinary
        # convolution. Stride 1 and padding `k // 2` keep the shape `[B, h, n/p, n/p]`.
        self.depth_wise_conv = nn.Conv2d(
            d_model, d_model, kernel_size, groups=d_model, padding=kernel_size // 2
        )
        # GELU, $\sigma(x) = x \, \Phi(x)$, where $\Phi$ is the standard normal CDF. It is a
        # smooth version of ReLU: it keeps positive inputs, suppresses negative ones, and has a
        # derivative everywhere. ViT and MLP-Mixer use it too. It is not essential: the authors
        # trained their ConvMixer-768/32 ImageNet model with ReLU. It has no parameters, so one
        # module serves both steps.
        self.activation = nn.GELU()
        # BatchNorm after the spatial step. Over a batch it normalizes each channel with that
        # channel's mean and variance across all $B \cdot (n/p)^2$ locations, then applies a
        # learned scale and shift: $2h$ parameters. ResNet uses it; ViT uses LayerNorm, which
        # normalizes each location's $h$-vector on its own. At inference the statistics are
        # fixed running averages, so BatchNorm is just a per-channel multiply-add.
        self.depth_wise_norm = nn.BatchNorm2d(d_model)
        # The point-wise convolution: kernel $1 \times 1$, an $h \times h$ matrix applied at every
        # location. The shape stays `[B, h, n/p, n/p]`.
        self.point_wise_conv = nn.Conv2d(d_model, d_model, kernel_size=1)
        # BatchNorm after the channel step.
        self.point_wise_norm = nn.BatchNorm2d(d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """
        * `x` is $z_{l-1}$, the patch grid from the previous layer, `[B, h, n/p, n/p]`

        Returns the new grid, with the same shape.
        """
        # Keep $z_{l-1}$ for the residual connection.
        residual = x
        # Spatial mixing: every channel of every patch gathers the same channel from its
        # $k \times k$ neighbourhood of patches. `[B, h, n/p, n/p]`
        x = self.depth_wise_conv(x)
        # $\mathrm{BN}(\sigma(\cdot))$. Note the order, activation first and normalization
        # second, the reverse of ResNet's conv, BatchNorm, ReLU. The paper uses this order
        # throughout; one consequence is that the conv's bias is not wasted, because BatchNorm's
        # shift cannot absorb a bias that has passed through GELU.
        x = self.depth_wise_norm(self.activation(x))
        # Add the residual: $z'_l = \mathrm{BN}(\sigma(\mathrm{DepthwiseConv}(z_{l-1}))) + z_{l-1}$.
        x = x + residual
        # Channel mixing: at every location, the $h$-vector is multiplied by the same
        # $h \times h$ matrix. `[B, h, n/p, n/p]`
        x = self.point_wise_conv(x)
        # $z_{l+1} = \mathrm{BN}(\sigma(\mathrm{PointwiseConv}(z'_l)))$, with no residual.
        x = self.point_wise_norm(self.activation(x))
        #
        return x


class PatchEmbeddings(nn.Module):
    r"""
    ## Patch embeddings

    Cuts the image into $p \times p$ patches and maps each patch to an $h$-dimensional vector:

    $$z_0 = \mathrm{BN}\big(\sigma(\mathrm{Conv}_{c_{in} \to h}(X))\big)$$

    where $X$ is the batch of images and the convolution has kernel size $p$ and stride $p$.

    A convolution whose kernel and stride are both $p$ visits every patch exactly once, without
    overlap, and applies the same linear map to each one: the $c_{in} p^2$ pixel values of a
    patch are multiplied by an $h \times c_{in} p^2$ matrix. That is ViT's "flatten the patch,
    then a linear layer", written as a convolution. Unlike ViT, the result is not flattened into
    a sequence: it stays a grid `[B, h, n/p, n/p]`, so the convolutions that follow know which
    patches are neighbours, and no position embeddings are needed.

    It has $c_{in} p^2 h + h$ parameters for the convolution and $2h$ for BatchNorm:
    $3 \cdot 4 \cdot 256 + 256 + 512 = 3{,}840$ for RGB, $p = 2$, $h = 256$.

    The patch size sets the cost of everything after it. The grid has $(n/p)^2$ locations, and
    every layer does its work at each of them, so halving $p$ makes each layer four times as
    expensive, and small patches keep more detail. The paper's best ImageNet model uses $p = 7$
    on $224 \times 224$ images (a $32 \times 32$ grid); for $32 \times 32$ CIFAR-10 images the
    authors' training script uses $p = 2$, and so does our default.
    """

    def __init__(self, d_model: int, patch_size: int, in_channels: int = 3):
        """
        * `d_model` is $h$, the size of each patch vector
        * `patch_size` is $p$, the side of a patch in pixels
        * `in_channels` is $c_{in}$, the number of channels of the image
        """
        super().__init__()
        # A patch is at least one pixel; $p$ is kept to check image sizes in `forward`.
        if patch_size < 1:
            raise ValueError(f"patch_size must be at least 1, got {patch_size}")
        self.patch_size = patch_size
        # The patch-embedding convolution: kernel $p$, stride $p$, $c_{in}$ channels in,
        # $h$ out.
        self.conv = nn.Conv2d(in_channels, d_model, kernel_size=patch_size, stride=patch_size)
        # GELU and BatchNorm, in the same order as in every [layer](#ConvMixerLayer).
        self.activation = nn.GELU()
        self.norm = nn.BatchNorm2d(d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """
        * `x` is a batch of images, `[B, c_in, n, n]` (height and width may differ, as long as
          both are multiples of $p$)

        Returns the patch grid $z_0$, `[B, h, n/p, n/p]`.
        """
        # A strided convolution would silently drop the last rows and columns of pixels when
        # the size is not a multiple of $p$. That is almost always a mistake (a wrong crop or
        # patch size), so we say so instead.
        height, width = x.shape[-2:]
        if height % self.patch_size or width % self.patch_size:
            raise ValueError(
                f"image size {height}x{width} is not a multiple of patch_size {self.patch_size}"
            )
        # Each $p \times p$ patch becomes one location with $h$ channels.
        # `[B, c_in, n, n]` becomes `[B, h, n/p, n/p]`.
        x = self.conv(x)
        # $\mathrm{BN}(\sigma(\cdot))$, shape unchanged.
        return self.norm(self.activation(x))


class ClassificationHead(nn.Module):
    r"""
    ## Classification head

    Turns the final patch grid $z_d$ into one score per class. It averages the grid over all
    $(n/p)^2$ locations, which gives one $h$-vector per image, and a linear layer with an
    $n_{classes} \times h$ weight matrix $W$ and a bias vector $b$ maps that vector to
    $n_{classes}$ scores:

    $$\text{logits} = \Big(\frac{p^2}{n^2} \sum_{i,j} z_d[:, :, i, j]\Big) W^\top + b$$

    The sum runs over every row $i$ and column $j$ of the grid; $z_d[:, :, i, j]$, shaped
    `[B, h]`, holds the $h$-vector of that patch in each image. The average is `[B, h]`, and the
    logits `[B, n_classes]`.

    The outputs are **logits**, unnormalized scores: softmax turns them into probabilities, and
    `torch.nn.functional.cross_entropy` expects exactly these (it applies log-softmax itself).

    Averaging is what makes the network work for any image size: whatever $n/p$ is, the head
    receives an $h$-vector. ViT instead reads a special class token, and ResNet also averages.

    It has $h \cdot n_{classes} + n_{classes}$ parameters: 2,570 for $h = 256$ and 10 classes.
    """

    def __init__(self, d_model: int, n_classes: int):
        """
        * `d_model` is $h$, the number of channels of the final grid
        * `n_classes` is the number of classes
        """
        super().__init__()
        # Global average pooling: the mean over all locations of the grid, for each channel.
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        # The linear classifier, $h \to n_{classes}$.
        self.linear = nn.Linear(d_model, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """
        * `x` is the output of the last layer, `[B, h, n/p, n/p]`

        Returns the logits, `[B, n_classes]`.
        """
        # Average over the grid. `[B, h, n/p, n/p]` becomes `[B, h, 1, 1]`.
        x = self.pool(x)
        # Drop the two unit dimensions. `[B, h]`
        x = x.flatten(1)
        # One score per class. `[B, n_classes]`
        return self.linear(x)


class ConvMixer(nn.Module):
    r"""
    ## ConvMixer

    The whole network: the [patch embeddings](#PatchEmbeddings), $d$ copies of the
    [ConvMixer layer](#ConvMixerLayer), and the [classification head](#ClassificationHead).

    | step             | output shape         | parameters                 | ConvMixer-256/8 |
    |------------------|----------------------|----------------------------|-----------------|
    | input image      | `[B, c_in, n, n]`    |                            |                 |
    | patch embeddings | `[B, h, n/p, n/p]`   | $c_{in} p^2 h + 3h$        | 3,840           |
    | $d$ layers       | `[B, h, n/p, n/p]`   | $d (h k^2 + h^2 + 6h)$     | 587,776         |
    | head             | `[B, n_classes]`     | $h n_{classes} + n_{classes}$ | 2,570        |
    | total            |                      |                            | 594,186         |

    The last column is for $c_{in} = 3$, $h = 256$, $d = 8$, $p = 2$, $k = 5$ and 10 classes.

    BatchNorm's scales and shifts are counted as parameters; its running means and variances
    are buffers, not parameters, and are not counted.

    The model works in either memory layout: after `model.to(memory_format=torch.channels_last)`
    and the same for the input, the $h$ channels of a location lie next to each other in memory,
    the layout (NHWC) NVIDIA recommends for convolutions on its GPUs' tensor cores. Under
    `torch.autocast` with `bfloat16`, the convolutions and the linear layer run in bfloat16.
    """

    def __init__(
        self,
        conv_mixer_layer: ConvMixerLayer,
        n_layers: int,
        patch_emb: PatchEmbeddings,
        classification: ClassificationHead,
    ):
        """
        * `conv_mixer_layer` is a template [layer](#ConvMixerLayer); the network holds
          `n_layers` copies of it, not the template itself
        * `n_layers` is $d$, the depth
        * `patch_emb` is the [patch embeddings](#PatchEmbeddings) module
        * `classification` is the [classification head](#ClassificationHead)
        """
        super().__init__()
        # A ConvMixer has at least one layer.
        if n_layers < 1:
            raise ValueError(f"n_layers must be at least 1, got {n_layers}")
        # The parts before and after the layers are used as they are.
        self.patch_emb = patch_emb
        self.classification = classification
        # The $d$ layers. `copy.deepcopy` gives each its own parameters, and we draw them
        # afresh, since a plain deep copy would start every layer with the same numbers; the
        # authors' code builds, and so initializes, each layer on its own.
        self.conv_mixer_layers = nn.ModuleList(
            _reinitialized(copy.deepcopy(conv_mixer_layer)) for _ in range(n_layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """
        * `x` is a batch of images, `[B, c_in, n, n]`, normalized as for training

        Returns the logits, `[B, n_classes]`.
        """
        # Patches in. `[B, c_in, n, n]` becomes $z_0$, `[B, h, n/p, n/p]`.
        x = self.patch_emb(x)
        # The $d$ layers, each `[B, h, n/p, n/p]` to `[B, h, n/p, n/p]`: the isotropic design,
        # where neither the resolution nor the width ever changes.
        for layer in self.conv_mixer_layers:
            x = layer(x)
        # Average over locations, then classify. `[B, n_classes]`
        return self.classification(x)


def _reinitialized(module: nn.Module) -> nn.Module:
    """Draw fresh initial values for every parameter of `module` and reset BatchNorm statistics."""
    # Every PyTorch layer that owns parameters (`Conv2d`, `BatchNorm2d`, `Linear`) has a
    # `reset_parameters` method that applies its default initialization.
    for submodule in module.modules():
        reset = getattr(submodule, "reset_parameters", None)
        if callable(reset):
            reset()
    return module


def conv_mixer(
    d_model: int = 256,
    n_layers: int = 8,
    kernel_size: int = 5,
    patch_size: int = 2,
    n_classes: int = 10,
) -> ConvMixer:
    r"""
    ## Building a ConvMixer

    Builds ConvMixer-$h$/$d$ for RGB images. The defaults are ConvMixer-256/8 with $k = 5$ and
    $p = 2$, sized for $32 \times 32$ CIFAR-10 images: 594,186 parameters. The
    [experiment](experiment.html) builds its model from the same parts.
    """
    return ConvMixer(
        ConvMixerLayer(d_model, kernel_size),
        n_layers,
        PatchEmbeddings(d_model, patch_size),
        ClassificationHead(d_model, n_classes),
    )


# ## Trying it out
#
# Build the default model and follow four random $32 \times 32$ RGB images through it, one part
# at a time. Each part's output shape and parameter count should match the [table](#ConvMixer).
# `eval()` makes BatchNorm use its running statistics instead of those of these four images.
#
# Then check the receptive field through gradients. After 2 layers with $k = 5$, the output at
# location (8, 8) should depend on the $1 + 2(k-1) = 9$ by 9 patches around it and on nothing
# else, so its gradient with respect to the input grid is non-zero (`#` in the map) exactly there.
# In training mode it would not be: BatchNorm's batch statistics connect every location.
#
# This cell ends the page's notebook. It sits in the notes, as a `python notebook` example, so
# that `import labml_like.conv_mixer` only defines the model and prints nothing.
#
# ```python notebook
# torch.manual_seed(0)
# model = conv_mixer().eval()
# parts = [("patch embeddings", model.patch_emb)]
# parts += [(f"layer {i}", layer) for i, layer in enumerate(model.conv_mixer_layers, 1)]
# parts += [("head", model.classification)]
# x = torch.randn(4, 3, 32, 32)
# print(f"{'images':<18}{list(x.shape)}")
# with torch.no_grad():
#     for name, part in parts:
#         x = part(x)
#         n_parameters = sum(p.numel() for p in part.parameters())
#         print(f"{name:<18}{str(list(x.shape)):<18}{n_parameters:>9,}")
# print(f"{'ConvMixer-256/8':<36}{sum(p.numel() for p in model.parameters()):>9,} parameters")
#
# z = torch.randn(1, 256, 16, 16, requires_grad=True)
# out = model.conv_mixer_layers[1](model.conv_mixer_layers[0](z))
# out[0, :, 8, 8].sum().backward()
# reached = z.grad[0].abs().sum(dim=0) > 0
# predicted = torch.zeros(16, 16, dtype=torch.bool)
# predicted[4:13, 4:13] = True  # 9 x 9 patches centred on (8, 8)
# print("\n".join(" ".join("#" if r else "." for r in row) for row in reached.tolist()))
# print(f"gradient non-zero exactly in the predicted window: {torch.equal(reached, predicted)}")
# ```
