"""
---
title: Checking settings
summary: >-
  Every invalid setting named by its command-line flag, in one line, before a run starts.
---

# Checking settings

Every settings dataclass lists its invalid fields in a `problems` method, and
`config_problems` collects them into messages that name the command-line flag. A bad value
then stops the run in its first second with one line, instead of a traceback from deep inside
PyTorch after the data has loaded, or, worse, no error at all: `--epochs 0` used to write
the test accuracy of an untrained network to `final.json`, a number that looks like a result.
The comparisons are written so that `nan` fails every one of them.
"""

import math
from dataclasses import fields, is_dataclass

from labml_like.tools.errors import TrainingError


def invalid(**checks: tuple[bool, str]) -> dict[str, str]:
    """`{name: rule}` for each check `name=(passed, rule)` that failed."""
    return {name: rule for name, (passed, rule) in checks.items() if not passed}


def flag(name: str, value=None) -> str:
    """
    The command-line form of setting `name` (`optim.grad_clip` is `--optim.grad-clip`), with
    `value` as one would type it.
    """
    option = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return option if value else "--no-" + option[2:]
    if isinstance(value, tuple):
        return " ".join([option, *map(str, value)])
    return option if value is None else f"{option} {value}"


def config_problems(config, prefix: str = "") -> list[str]:
    """One message per invalid value of `config` and of the settings groups nested in it."""
    rules = config.problems() if hasattr(config, "problems") else {}
    found = []
    for f in fields(config):
        value = getattr(config, f.name)
        if is_dataclass(value):
            found += config_problems(value, f"{prefix}{f.name}.")
        elif f.name in rules:
            found.append(f"{flag(prefix + f.name, value)}: must be {rules[f.name]}")
    return found


def validate(config, prefix: str = "") -> None:
    """Raise one `TrainingError` that lists every invalid value of `config`."""
    problems = config_problems(config, prefix)
    if problems:
        raise TrainingError("; ".join(problems))


def optim_problems(c) -> dict[str, str]:
    """
    ## The rules

    The invalid fields of the [optimizer settings](../experiments/trainer.html#OptimConfig) `c`,
    as `{name: what it must be}`.
    """
    return invalid(
        name=(c.name in ("adam", "adamw", "sgd"), "adam, adamw or sgd"),
        lr=(0 < c.lr < math.inf, "a finite number above 0"),
        weight_decay=(0 <= c.weight_decay < math.inf, "a finite number, 0 or more"),
        schedule=(c.schedule in ("constant", "one_cycle"), "constant or one_cycle"),
        betas=(all(0 <= b < 1 for b in c.betas), "two numbers from 0 up to (not) 1"),
        grad_clip=(0 <= c.grad_clip < math.inf, "0 (off) or a finite number above 0"),
    )


def trainer_problems(c) -> dict[str, str]:
    """The invalid fields of the [training settings](../experiments/trainer.html#TrainerConfig)."""
    return invalid(
        epochs=(c.epochs >= 1, "at least 1"),
        batch_size=(c.batch_size >= 1, "at least 1"),
        seed=(0 <= c.seed < 2**32, "from 0 to 2**32 - 1"),
        label_smoothing=(0 <= c.label_smoothing <= 1, "from 0 to 1"),
        log_every=(c.log_every >= 1, "at least 1"),
    )
