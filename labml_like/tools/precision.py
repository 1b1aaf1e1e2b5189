r"""
---
title: Mixed precision
summary: >-
  bfloat16 and float16 under autocast on CUDA, float16's gradient scaler, and float32 on the CPU.
---

# Mixed precision
"""

import torch

from labml_like.tools.errors import TrainingError

PRECISIONS = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    r"""
    ## Which format

    The number format autocast runs the forward pass in, or `None` for plain float32. With `bf16`
    or `fp16` on CUDA, autocast runs matrix products and convolutions in that 16-bit format,
    which halves the bytes each activation takes, and keeps in float32 the operations PyTorch's
    autocast lists as needing float32's range, such as softmax and the losses. Weights, gradients
    and the optimizer's state stay float32.

    The two 16-bit formats split their 16 bits differently:

    | format | exponent bits | mantissa bits | largest value | smallest normal value |
    |---|---|---|---|---|
    | float32 | 8 | 23 | $3.4 \cdot 10^{38}$ | $1.2 \cdot 10^{-38}$ |
    | bfloat16 | 8 | 7 | $3.4 \cdot 10^{38}$ | $1.2 \cdot 10^{-38}$ |
    | float16 | 5 | 10 | 65,504 | $6.1 \cdot 10^{-5}$ |

    bfloat16 keeps float32's exponent, and so its range, and gives up precision. float16 keeps
    more precision but has a narrow range: below $2^{-14} \approx 6.1 \cdot 10^{-5}$ it starts
    losing bits, the smallest value it holds at all is $2^{-24} \approx 6 \cdot 10^{-8}$, and
    anything below half of that rounds to zero.

    **Why float16 needs a gradient scaler.** Micikevicius et al. (2018, *Mixed Precision Training*)
    found that in some networks many of the gradients of the backward pass lie below float16's
    range: in float16 they become zero, and the weights they lead to stop learning. Their fix,
    loss scaling, multiplies the loss by a large factor $S$ before the backward pass.
    Backpropagation is linear in the loss, so every gradient comes out $S$ times larger, lifted
    into float16's range; the float32 gradients are divided by $S$ again before the optimizer uses
    them. PyTorch's `GradScaler` chooses $S$ as it goes: it starts at $2^{16}$, and whenever a
    gradient holds an `inf` or a NaN (an overflow: $S$ is too large) it skips that optimizer step
    and halves $S$; after 2,000 steps without one it doubles $S$. The scale is part of the
    training state, so it goes into the checkpoint.

    bfloat16 needs none of this, since its range is float32's. It is the default here; the `paper`
    preset uses `fp16` with the scaler, because the ConvMixer authors' script does
    (`torch.cuda.amp.autocast` and `GradScaler`).

    **On the CPU and MPS autocast is off**, whatever `precision` says: we train in float32 there.
    Our CPU runs are the ones whose exact reproduction the tests check, and we have not measured
    what 16-bit formats would do to them.
    """
    if precision not in PRECISIONS:
        raise TrainingError(f"unknown precision {precision!r}; use bf16, fp16 or fp32")
    return PRECISIONS[precision] if device.type == "cuda" else None
