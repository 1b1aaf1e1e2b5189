"""
---
title: "labml_like: annotated deep-learning papers"
summary: >
  Deep-learning papers implemented in PyTorch and explained line by line, with the commentary
  beside the code, the math typeset, and experiments you can run yourself.
---

# Annotated deep-learning papers

Welcome. Each page here is a working PyTorch implementation of a paper, written to be read. The
commentary sits beside the code it explains: on a wide screen the notes are on the left and the
code on the right, row by row, so you can read the idea and its implementation together; on a
narrow screen each note comes just above its code. The notes give every tensor's shape where it
changes, the math in the paper's own symbols, and the reasons behind each design choice, not only
what the code does. Every section has its own anchor, so any step can be linked to.

The first paper is [ConvMixer](conv_mixer/index.html), "Patches Are All You Need?": a network made
only of plain convolutions over image patches that competes with vision transformers. Start with
[the paper in brief](conv_mixer/readme.html), read [the annotated model](conv_mixer/index.html),
then [train it on CIFAR-10](conv_mixer/experiment.html) yourself.

## Running the code

The code runs on a CPU; training is much faster on a GPU. From a clone of the repository:

* `make test` sets up a virtual environment and runs the checks and the tests;
* `make serve` builds this site and serves it at `http://127.0.0.1:8000`;
* each experiment page explains how to run it, and what it measured.

Models are plain PyTorch modules with no framework around them, so one can be copied into another
project as it is.
"""
