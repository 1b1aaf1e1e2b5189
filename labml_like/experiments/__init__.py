"""
---
title: Experiments
summary: >-
  What every experiment on this site shares: the CIFAR-10 data, its augmentation and the training
  loop, written out and explained.
---

# Experiments

A model page explains an architecture; this folder holds what it takes to *train* one and to trust
the numbers that come out. Nothing here is specific to a single paper: each experiment (for example
the [ConvMixer experiment](../conv_mixer/experiment.html)) picks a model, a preset and these
pieces.

* [CIFAR-10 without torchvision](cifar10.html) downloads and verifies the dataset, keeps all of it
  on the training device as `uint8` tensors, and deals out shuffled batches across GPUs.
* [Augmentation on the device](augment.html) crops, flips, recolours, normalizes and erases whole
  batches there with a seeded generator, and [RandAugment](randaugment.html) has a page of its
  own for its 14 operations.
* [The training loop](trainer.html) is the forward pass, the loss, the backward pass, the
  learning-rate schedule and the evaluation.

What a run needs besides, and a learner can read later, is in the [tools](../tools/index.html):
exact resume, checkpoint and metrics files, devices and several processes, mixed precision.

All are annotated the same way as the models: read them top to bottom, commentary on the left and
the code it describes on the right. The model these experiments train first is
[ConvMixer](../conv_mixer/index.html).
"""
