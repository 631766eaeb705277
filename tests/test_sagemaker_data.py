"""The container's data and settings: libsvm that XGBoost reads as our matrix, shards, hyperparameters as strings."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import xgboost as xgb

from kayfabe_core.constraints import BOOSTER_KNOBS
from kayfabe_core.errors import SettingError
from kayfabe_core.sagemaker_data import libsvm_text, shard_rows
from kayfabe_core.sagemaker_finish import widen_booster
from kayfabe_core.sagemaker_launch import CONTAINER_NAMES, container_hyperparameters
from kayfabe_core.train import TrainSettings
from tests.sagemaker_support import fake_aws, parse_libsvm, small_table  # noqa: F401

# Every hyperparameter the 3.0-5 container validates that this app may send
# (aws/sagemaker-xgboost-container, src/sagemaker_xgboost_container/algorithm_mode/hyperparameter_validation.py).
CONTAINER_HYPERPARAMETERS = {"num_round", "early_stopping_rounds", "eta", "gamma", "max_depth", "min_child_weight",
                             "subsample", "colsample_bytree", "lambda", "alpha", "scale_pos_weight", "tree_method",
                             "objective", "eval_metric", "seed"}


def awkward_matrix() -> tuple[sp.csr_matrix, np.ndarray]:
    rows, cols = [0, 0, 1, 2, 2, 2, 3, 3], [0, 2, 2, 0, 1, 2, 1, 3]
    values = np.array([0.1, 1e-7, 0.0, 123456.78, np.nan, 2.0, 1 / 3, 5.5], dtype=np.float32)
    matrix = sp.csr_matrix((values, (rows, cols)), shape=(4, 4))  # (1, 2) is a stored zero, (2, 1) missing
    return matrix, np.array([1, 0, 1, 0])


def test_libsvm_holds_the_exact_float32_values_label_first() -> None:
    matrix, labels = awkward_matrix()
    text = libsvm_text(matrix, labels).decode()
    assert text.splitlines() == ["1 0:0.1 2:1e-07", "0 2:0.0", "1 0:123456.78 2:2.0", "0 1:0.33333334 3:5.5"]
    back, codes = parse_libsvm(text, 4)
    expected = matrix.copy()
    expected.data[np.isnan(expected.data)] = 0
    assert (codes == labels).all()
    assert np.array_equal(back.toarray(), expected.toarray())


def test_xgboost_reads_the_file_as_the_same_table_and_trains_the_same_model(tmp_path: Path) -> None:
    table = small_table()  # its last column holds no value
    path = tmp_path / "train.libsvm"
    path.write_bytes(libsvm_text(table.matrix, table.observed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # text input is deprecated in xgboost >= 3.1; the container reads it so
        from_file = xgb.DMatrix(f"{path}?format=libsvm")
    from_memory = xgb.DMatrix(table.matrix, label=table.observed)
    assert from_file.num_col() == table.n_features - 1  # counted up to the last column holding a value
    assert from_file.num_nonmissing() == from_memory.num_nonmissing()
    assert np.array_equal(from_file.get_label(), from_memory.get_label())
    params = TrainSettings.from_choices("original-2021").booster_params(7)
    container, local = (xgb.train(params, data, 20) for data in (from_file, from_memory))
    widened = widen_booster(container, table.n_features)
    assert (container.num_features(), widened.num_features()) == (table.n_features - 1, table.n_features)
    for options in ({}, {"pred_contribs": True}):
        assert np.array_equal(widened.predict(from_memory, **options), local.predict(from_memory, **options))
    assert widen_booster(local, table.n_features) is local


def test_shards_cover_every_row_once() -> None:
    shards = shard_rows(10, 3)
    assert [len(part) for part in shards] == [4, 3, 3]
    assert np.array_equal(np.concatenate(shards), np.arange(10))
    assert len(shard_rows(2, 5)) == 2


def test_hyperparameters_are_strings_named_as_the_container_names_them() -> None:
    assert set(CONTAINER_NAMES) == {knob.key for knob in BOOSTER_KNOBS}
    settings = TrainSettings.from_choices("original-2021")
    sent = container_hyperparameters(settings, 2021)
    assert set(sent) <= CONTAINER_HYPERPARAMETERS and all(isinstance(value, str) for value in sent.values())
    assert sent["num_round"] == "100" and sent["max_depth"] == "5" and sent["eta"] == "0.2"
    assert sent["gamma"] == "4.0" and sent["subsample"] == "0.8" and sent["min_child_weight"] == "6.0"
    assert (sent["objective"], sent["eval_metric"], sent["tree_method"], sent["seed"]) == (
        "binary:logistic", "logloss", "hist", "2021")
    assert "early_stopping_rounds" not in sent  # off (0) is not sent: the container wants at least 1
    careful = container_hyperparameters(TrainSettings.from_choices("careful"), 1)
    assert careful["early_stopping_rounds"] == "30" and careful["num_round"] == "1000"


def test_a_seed_the_container_refuses_is_refused_here() -> None:
    with pytest.raises(SettingError, match="accepts random seeds up to 2,147,483,646; got 2,147,483,647"):
        container_hyperparameters(TrainSettings.from_choices(), 2**31 - 1)
