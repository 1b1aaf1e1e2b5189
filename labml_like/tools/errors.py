"""
---
title: Errors that stop a run
summary: The two exceptions a training run ends with when something stops it on purpose.
---

# Errors that stop a run

A run that cannot go on ends with one of these, and the command line prints its message as one
line instead of a traceback.
"""

import signal


class TrainingError(Exception):
    """A problem that stops training, reported as one clear message."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM stopped the run; the state is saved in the checkpoint the message names."""

    def __init__(self, message: str, signum: int = signal.SIGINT):
        super().__init__(message)
        self.signum = signum


class DatasetError(Exception):
    """
    Everything that can go wrong with the data on disk ends up as this one exception, with one
    message that says which file is at fault and what to do about it. Command-line tools print the
    message and exit with a non-zero status; nobody has to read a pickle traceback.
    """
