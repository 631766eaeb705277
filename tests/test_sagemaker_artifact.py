"""A SageMaker XGBoost model.tar.gz loads here and predicts exactly what the container's xgboost predicts.

The fixtures in tests/fixtures/sagemaker/ were written by make_artifact.py there, under xgboost 3.0.5
(the "3.0-5" container's version) and, for the refused legacy format, xgboost 1.7.6.
"""

from __future__ import annotations

import io
import json
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import xgboost as xgb

from kayfabe_core import sagemaker_artifact
from kayfabe_core.errors import InputFileError
from kayfabe_core.sagemaker_artifact import load_model_artifact

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sagemaker"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


def model_bytes() -> bytes:
    with tarfile.open(FIXTURES / "model.tar.gz") as tar:
        handle = tar.extractfile("xgboost-model")
        assert handle is not None
        return handle.read()


def fixture_matrix() -> xgb.DMatrix:
    rows, cols = [], []
    for row, line in enumerate(EXPECTED["test_rows_libsvm"]):
        for item in line.split()[1:]:
            rows.append(row)
            cols.append(int(item.split(":")[0]))
    shape = (len(EXPECTED["test_rows_libsvm"]), EXPECTED["num_features"])
    return xgb.DMatrix(sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape))


def write_tar(path: Path, members: dict[str, bytes], links: tuple[str, ...] = ()) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
    return path


def refusal(path: Path) -> InputFileError:
    with pytest.raises(InputFileError) as caught:
        load_model_artifact(path)
    assert caught.value.hint
    return caught.value


def test_the_fixture_is_what_the_3_0_5_container_writes() -> None:
    assert EXPECTED["written_by"]["xgboost"] == "3.0.5"
    with tarfile.open(FIXTURES / "model.tar.gz") as tar:
        assert tar.getnames() == ["xgboost-model"]
    assert model_bytes()[:2] == b"{L"  # UBJSON, xgboost's default for a name with no extension since 2.1


def test_predictions_equal_the_container_xgboost_bit_for_bit() -> None:
    booster = load_model_artifact(FIXTURES / "model.tar.gz")
    assert booster.num_boosted_rounds() == int(EXPECTED["hyperparameters"]["num_round"])
    assert booster.num_features() == EXPECTED["num_features"]
    data = fixture_matrix()
    probabilities = booster.predict(data)
    margins = booster.predict(data, output_margin=True)
    assert probabilities.dtype == np.float32
    assert np.array_equal(probabilities, np.array(EXPECTED["probabilities"], dtype=np.float32))
    assert np.array_equal(margins, np.array(EXPECTED["margins"], dtype=np.float32))


def test_a_leading_dot_slash_and_a_root_directory_entry_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "model.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        directory = tarfile.TarInfo(".")
        directory.type = tarfile.DIRTYPE
        tar.addfile(directory)
        data = model_bytes()
        info = tarfile.TarInfo("./xgboost-model")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert load_model_artifact(path).num_boosted_rounds() == int(EXPECTED["hyperparameters"]["num_round"])


def test_a_single_model_file_under_another_name_is_used(tmp_path: Path) -> None:
    booster = load_model_artifact(write_tar(tmp_path / "m.tar.gz", {"model.ubj": model_bytes()}))
    assert np.array_equal(booster.predict(fixture_matrix()), np.array(EXPECTED["probabilities"], dtype=np.float32))


@pytest.mark.parametrize("name", ["../xgboost-model", "/tmp/xgboost-model", "a/../../xgboost-model"])
def test_a_path_leaving_the_archive_is_refused(tmp_path: Path, name: str) -> None:
    error = refusal(write_tar(tmp_path / "m.tar.gz", {name: model_bytes()}))
    assert "leaves the archive" in error.message


def test_a_link_is_refused(tmp_path: Path) -> None:
    error = refusal(write_tar(tmp_path / "m.tar.gz", {"xgboost-model": model_bytes()}, links=("other",)))
    assert "link" in error.message


@pytest.mark.parametrize("members", [{}, {"a.txt": b"x", "b.txt": b"y"}, {"model/xgboost-model": b"{}"}])
def test_an_archive_without_a_model_is_refused(tmp_path: Path, members: dict[str, bytes]) -> None:
    error = refusal(write_tar(tmp_path / "m.tar.gz", members))
    assert "no 'xgboost-model'" in error.message


def test_a_file_that_is_not_a_tar_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.tar.gz"
    path.write_bytes(b"this is not an archive" * 50)
    assert "cannot be read as a .tar.gz" in refusal(path).message
    assert "does not exist" in refusal(tmp_path / "missing.tar.gz").message
    assert "does not exist" in refusal(tmp_path).message


def test_a_cut_archive_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.tar.gz"
    path.write_bytes((FIXTURES / "model.tar.gz").read_bytes()[:3000])
    assert "cannot be read as a .tar.gz" in refusal(path).message


def test_a_model_over_the_size_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sagemaker_artifact, "MAX_MODEL_BYTES", 1000)
    assert "limit" in refusal(FIXTURES / "model.tar.gz").message


@pytest.mark.parametrize("data", [b"", b"garbage" * 10, b"{}", b"{L\x00\x00", model_bytes()[:100],
                                  model_bytes()[: len(model_bytes()) // 2]])
def test_garbage_empty_or_cut_models_are_refused_without_crashing(tmp_path: Path, data: bytes) -> None:
    # xgboost 3.2 aborts the process on an empty buffer and runs out of memory on the 100-byte cut
    error = refusal(write_tar(tmp_path / "m.tar.gz", {"xgboost-model": data}))
    assert "xgboost-model" in error.message


def test_a_pickle_is_refused_and_never_loaded(tmp_path: Path) -> None:
    error = refusal(write_tar(tmp_path / "m.tar.gz", {"xgboost-model": pickle.dumps({"not": "a booster"})}))
    assert "pickle" in error.message


def test_the_legacy_binary_of_the_1_7_container_is_refused_with_the_reason() -> None:
    error = refusal(FIXTURES / "legacy-1.7.tar.gz")
    assert "legacy binary format" in error.message and "1.7-1" in error.message
    assert '"3.0-5"' in error.hint
