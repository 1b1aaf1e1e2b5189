"""
---
title: Experiments
summary: >-
  The machinery shared by every experiment on this site, the CIFAR-10 data pipeline and the training
  loop, written out and explained.
---

# Experiments

A model page explains an architecture; this folder holds what it takes to *train* one and to trust
the numbers that come out. Nothing here is specific to a single paper: each experiment (for example
the [ConvMixer experiment](../conv_mixer/experiment.html)) picks a model, a preset and these two
pieces.

* [CIFAR-10 without torchvision](cifar10.html) downloads and verifies the dataset, keeps all of it
  on the training device as `uint8` tensors, and augments whole batches there with a seeded
  generator, so a run is fast, reproducible and resumable.
* [The training loop](trainer.html) chooses the device, runs mixed precision, logs metrics, writes
  atomic checkpoints and resumes them, and shards data across GPUs.

Both are annotated the same way as the models: read them top to bottom, commentary on the left and
the code it describes on the right. The model these experiments train first is
[ConvMixer](../conv_mixer/index.html).
"""
