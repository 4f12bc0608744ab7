"""Errors that reach the user as one clear line (the CLI prints ``str(err)``, no traceback)."""

from __future__ import annotations


class Img2ImgError(Exception):
    """Base class: anything the user can fix (bad option, missing data, incompatible weights)."""


class UnknownTaskError(Img2ImgError):
    pass


class DataError(Img2ImgError):
    """Missing, empty or unreadable data."""


class UnreadableImageError(DataError):
    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"cannot read image {path}: {reason}")
        self.path = path
        self.reason = reason


class WeightsError(Img2ImgError):
    """A weights file that is missing, malformed or belongs to another task/architecture."""


class ConfigError(Img2ImgError):
    """An option or config value that is out of range or of the wrong type."""


class PluginError(Img2ImgError):
    """A plugin registered something that breaks the Task contract."""


class TrainingDivergedError(Img2ImgError):
    """A loss became NaN or infinite."""

    def __init__(self, step: int, term: str, value: float, rollbacks: int = 0) -> None:
        # rollbacks: 0 = nan_policy "stop"; N > 0 = gave up after N rollbacks; -1 = nothing to roll back to yet.
        if rollbacks > 0:
            what = (f"gave up after {rollbacks} rollback(s) to the last checkpoint, each halving the learning rate; "
                    "the checkpoints on disk are intact (lower optim.lr or use --precision fp32)")
        elif rollbacks < 0:
            what = "there is no checkpoint to roll back to yet (lower checkpoint_every, optim.lr or use --precision fp32)"
        else:
            what = "the last checkpoint on disk is intact (lower the learning rate or use --precision fp32)"
        super().__init__(f"training diverged at step {step}: loss term '{term}' is {value}; {what}")
        self.step = step
        self.term = term
        self.value = value
        self.rollbacks = rollbacks


class ExportError(Img2ImgError):
    """An export that cannot run (a missing optional package, an unwritable output)."""


class MissingPackageError(Img2ImgError):
    """A feature needs an optional package that is not installed; the message says how to install it."""
