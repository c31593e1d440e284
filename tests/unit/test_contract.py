import dataclasses

import pytest

from agegender import labels
from agegender.contract import ModelContract, contract_path, load_contract
from agegender.exceptions import ModelContractError


def _contract(**changes):
    base = ModelContract(name="m", version="1", architecture="resnet_small", input_size=64, quantization="int8")
    return dataclasses.replace(base, **changes)


def test_round_trip(tmp_path):
    model = tmp_path / "m.tflite"
    contract_path(model).write_text(_contract(extra={"sha256": "ab"}).to_json())
    loaded = load_contract(model)
    assert loaded == _contract(extra={"sha256": "ab"})
    assert contract_path(model).name == "m.contract.json"


@pytest.mark.parametrize(
    "changes",
    [
        {"label_version": "0"},
        {"max_age": labels.MAX_AGE - 1},
        {"color_order": "BGR"},
        {"input_range": (0, 1)},
        {"mirror_resolution": 0.0},
        {"mirror_resolution": 1.5},
    ],
)
def test_incompatible_contract_is_refused(tmp_path, changes):
    model = tmp_path / "m.tflite"
    contract_path(model).write_text(_contract(**changes).to_json())
    with pytest.raises(ModelContractError):
        load_contract(model)


def test_missing_or_unreadable_contract(tmp_path):
    with pytest.raises(ModelContractError, match="no model contract"):
        load_contract(tmp_path / "absent.tflite")
    contract_path(tmp_path / "bad.tflite").write_text("{not json")
    with pytest.raises(ModelContractError, match="unreadable"):
        load_contract(tmp_path / "bad.tflite")
    contract_path(tmp_path / "odd.tflite").write_text('{"name": "x", "surprise": 1}')
    with pytest.raises(ModelContractError, match="unknown contract fields"):
        load_contract(tmp_path / "odd.tflite")
