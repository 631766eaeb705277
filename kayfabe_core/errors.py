"""One error tree for everything a user can get wrong.

Every error the core raises on purpose is a :class:`KayfabeError`. It carries a
``message`` (what was wrong, with the value received) and a ``hint`` (what to do
next), both in the users' words. Pages show it with ``st.error``; the CLI prints
it to stderr and exits 1. Any other exception is a bug.

Tree::

    KayfabeError
    ├── InputFileError      a file the user gave cannot be read as what it should be
    ├── WorkspaceError      the workspace folder or database cannot be used
    ├── StageNotReadyError  an earlier stage has not produced what this one needs
    ├── SettingError        a setting is out of range, or does not fit the data (e.g. a split
    │                       that would leave one side with a single class)
    ├── AwsSetupError       (rekognition_client) AWS cannot be used as set up: no credentials,
    │                       no region, no role, a bucket elsewhere, a missing permission
    └── SageMakerError      (sagemaker_client) SageMaker or S3 refused or failed a request, or a
                            training job failed (the message gives AWS's reason)
"""

from __future__ import annotations


class KayfabeError(Exception):
    """Base class: a problem the user can fix, with a hint saying how."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class InputFileError(KayfabeError):
    """A file given by the user (CSV, JSON) cannot be read as expected."""


class WorkspaceError(KayfabeError):
    """The workspace folder or its database cannot be opened or written."""


class StageNotReadyError(KayfabeError):
    """A stage was asked for work before the stage it depends on was done."""


class SettingError(KayfabeError):
    """A setting (feature option, split, hyperparameter) is out of range or does not fit the data."""


class TrainingStopped(KayfabeError):
    """The user stopped training or tuning before it finished (a Stop button, Ctrl-C); nothing was saved."""
