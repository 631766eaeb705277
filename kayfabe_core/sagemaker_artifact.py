"""Open the ``model.tar.gz`` a SageMaker XGBoost training job wrote, and load its booster here.

The built-in XGBoost container (algorithm mode) saves the trained booster with
``bst.save_model("/opt/ml/model/xgboost-model")`` and SageMaker packs ``/opt/ml/model`` into
``model.tar.gz``, the files at the archive root. The file format is whatever the container's
xgboost writes for a name with no extension:

* container 3.0-5 (xgboost 3.0.5): UBJSON, which this xgboost loads and predicts with identically
  (``tests/test_sagemaker_artifact.py`` checks it bit for bit on a real 3.0.5 artifact);
* container 1.7-1 and older (xgboost <= 1.7): the legacy binary format, which xgboost >= 3.1
  no longer reads.

The archive is read in memory, never extracted: a member with an absolute path or ``..``, a link
or a device, or a model file over :data:`MAX_MODEL_BYTES` is refused. Pickles are never loaded.
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path, PurePosixPath

import xgboost as xgb

from kayfabe_core.errors import InputFileError

MODEL_NAME = "xgboost-model"
MAX_MODEL_BYTES = 512 * 1024 * 1024
CONTAINER_HINT = ('Train with the SageMaker XGBoost container version "3.0-5", whose xgboost 3.0.5 writes '
                  f"UBJSON that xgboost {xgb.__version__} loads and predicts with identically.")


def load_model_artifact(path: Path) -> xgb.Booster:
    """Return the booster in the SageMaker ``model.tar.gz`` at ``path``.

    Raises :class:`~kayfabe_core.errors.InputFileError` when the file is not a tar archive, is unsafe,
    holds no model, or holds a model this xgboost cannot load.
    """
    name, data = read_model_file(path)
    return booster_from_bytes(data, f"{path.name}:{name}")


def read_model_file(path: Path) -> tuple[str, bytes]:
    """Return the model file's name and bytes: ``xgboost-model`` at the archive root, or its only root file."""
    if not path.is_file():
        raise InputFileError(f"{path} does not exist or is not a file.", "Give the downloaded model.tar.gz.")
    try:
        with tarfile.open(path, "r:gz") as tar:
            root_files: dict[str, tarfile.TarInfo] = {}
            for member in tar.getmembers():
                name = _safe_name(path, member)
                if not (member.isfile() or member.isdir()):
                    raise InputFileError(f"{path.name} holds {member.name!r}, which is a link or a special file.",
                                         "A SageMaker model.tar.gz holds only regular files; use the job's own.")
                if member.isfile() and "/" not in name:
                    root_files[name] = member
            if MODEL_NAME in root_files:
                name = MODEL_NAME
            elif len(root_files) == 1:
                (name,) = root_files
            else:
                listed = ", ".join(sorted(root_files)[:10]) or "no file"
                raise InputFileError(f"{path.name} has no {MODEL_NAME!r} at its root (it holds {listed}).",
                                     "Give the model.tar.gz of a SageMaker built-in XGBoost training job "
                                     "(a single booster, not a k-fold '_kfold' ensemble).")
            member = root_files[name]
            if member.size > MAX_MODEL_BYTES:
                raise InputFileError(f"{path.name}: {name} is {member.size:,} bytes, over the "
                                     f"{MAX_MODEL_BYTES:,}-byte limit for a model.",
                                     "Check that this is the model.tar.gz of the training job.")
            handle = tar.extractfile(member)
            assert handle is not None  # a regular file always has contents
            return name, handle.read()
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise InputFileError(f"{path.name} cannot be read as a .tar.gz archive ({str(error).strip()}).",
                             "Download the job's output model.tar.gz again; it may be incomplete.") from error


def booster_from_bytes(data: bytes, where: str) -> xgb.Booster:
    """Load an XGBoost JSON or UBJSON model from ``data``; ``where`` names it in messages."""
    if data[:1] == b"\x80":
        raise InputFileError(f"{where} is a Python pickle, as old SageMaker XGBoost containers wrote; "
                             "pickles are never loaded here (they can run code).", CONTAINER_HINT)
    if data[:4] == b"binf":
        raise InputFileError(
            f"{where} is in XGBoost's legacy binary format, which SageMaker XGBoost containers up to 1.7-1 "
            f"(xgboost <= 1.7) write; xgboost {xgb.__version__} cannot load it (support ended in 3.1).",
            CONTAINER_HINT + " Or convert it: load it with xgboost 2.x or 3.0 and save_model('model.ubj').")
    # Check both ends first: xgboost aborts the process on an empty buffer and can exhaust memory on a cut one.
    if data[:1] != b"{" or data.rstrip()[-1:] != b"}":
        raise InputFileError(f"{where} ({len(data):,} bytes) is not a whole XGBoost JSON or UBJSON model.",
                             CONTAINER_HINT + " If it came from such a job, download its model.tar.gz again.")
    try:
        return xgb.Booster(model_file=bytearray(data))
    except xgb.core.XGBoostError as error:
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        raise InputFileError(f"{where} cannot be loaded by xgboost {xgb.__version__}: {first_line}",
                             CONTAINER_HINT) from error


def _safe_name(path: Path, member: tarfile.TarInfo) -> str:
    """Return the member's name without a leading ``./``; refuse absolute names and ``..``."""
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts or "\\" in member.name:
        raise InputFileError(f"{path.name} holds {member.name!r}, a path that leaves the archive.",
                             "Refusing a tampered archive; use the model.tar.gz the training job wrote.")
    return str(name)
