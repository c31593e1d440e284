"""The accurate classifier option: the committed file is what its provenance says, and it runs behind the
same contract and commands as the small model.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from agegender.assets import ACCURATE_MODEL_PATH, CLASSIFIERS
from agegender.classifier import AgeGenderClassifier
from agegender.cli import main
from agegender.contract import ModelContract, load_contract
from agegender.exceptions import ModelContractError

PROVENANCE = ACCURATE_MODEL_PATH.parent / "faceres_deep.provenance.json"


def test_the_built_model_is_the_converted_one():
    provenance = json.loads(PROVENANCE.read_text())
    recorded = provenance["files"][ACCURATE_MODEL_PATH.name]
    data = ACCURATE_MODEL_PATH.read_bytes()
    assert hashlib.sha256(data).hexdigest() == recorded["sha256"] == load_contract(ACCURATE_MODEL_PATH).extra["sha256"]
    assert recorded["max_abs_difference"] <= 0.02
    assert provenance["package_sha256"] == "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
    assert "descriptor is not exported" in provenance["outputs"]


def test_its_signature_has_only_the_contracts_two_outputs():
    classifier = AgeGenderClassifier(ACCURATE_MODEL_PATH)
    assert sorted(classifier.model.output_names) == ["age_probs", "gender"]  # no 1024-d descriptor
    assert classifier.input_size == 224
    assert classifier.contract.crop_scale == pytest.approx(1.33)


def test_a_contract_with_an_odd_crop_scale_is_refused():
    contract = ModelContract("m", "1", "a", 64, "float32", crop_scale=5.0)
    with pytest.raises(ModelContractError, match="crop_scale"):
        contract.check_runtime_compatible()


def test_predict_with_the_accurate_classifier(capsys, tmp_path, sample_portrait):
    frame = sample_portrait.resize((320, 350))
    path = tmp_path / "portrait.jpg"
    frame.save(path, quality=92)
    assert main(["predict", "--classifier", "accurate", str(path)]) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    result = json.loads(line)
    assert result["Model"]["Version"] == load_contract(CLASSIFIERS["accurate"]).version
    (face,) = result["FaceDetails"]
    assert face["Classified"]
    assert 20 <= face["Age"]["Value"] <= 60
    assert face["Gender"]["Value"] == "Female"  # Eileen Collins (tests/data/README.md)
