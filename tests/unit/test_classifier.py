import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from agegender import labels
from agegender.assets import DEFAULT_MODEL_PATH
from agegender.classifier import AgeGenderClassifier
from agegender.contract import contract_path
from agegender.exceptions import ModelContractError
from agegender.preprocessing import mirror_views, prepare_faces
from tests.conftest import synthetic_face


def test_default_model_is_the_shipped_one(shipped_model):
    assert shipped_model == DEFAULT_MODEL_PATH
    classifier = AgeGenderClassifier()
    assert classifier.contract.quantization in ("int8", "float32")
    assert classifier.model.input_details["image"]["shape"].tolist()[1:] == [classifier.input_size] * 2 + [3]


def test_predictions_are_well_formed_and_batch_independent(shipped_model):
    faces = [synthetic_face(age, gender, 120, seed=age) for age, gender in [(5, 0), (30, 1), (70, 0), (45, 1), (20, 0)]]
    single = AgeGenderClassifier(shipped_model, max_batch=1).predict_faces(faces)
    batched = AgeGenderClassifier(shipped_model, max_batch=4).predict_faces(faces)
    assert len(single) == len(batched) == 5
    for a, b in zip(single, batched, strict=True):
        assert 0.0 <= a.p_female <= 1.0
        assert 0.0 <= a.age <= labels.MAX_AGE
        assert a.age_std >= 0
        low, high = a.age_range
        assert low <= round(a.age) <= high
        assert a.gender[0] in labels.GENDERS
        assert a.p_female == pytest.approx(b.p_female, abs=1e-6)
        assert a.age == pytest.approx(b.age, abs=1e-4)
    assert AgeGenderClassifier(shipped_model).predict_faces([]) == []


def test_contract_mismatch_is_refused_at_load(shipped_model, tmp_path):
    model = tmp_path / "m.tflite"
    shutil.copyfile(shipped_model, model)
    contract = json.loads(contract_path(shipped_model).read_text())
    contract["input_size"] += 8
    contract_path(model).write_text(json.dumps(contract))
    with pytest.raises(ModelContractError, match="input shape"):
        AgeGenderClassifier(model)
    contract["input_size"] -= 8
    contract["age_output"] = "age"
    contract_path(model).write_text(json.dumps(contract))
    with pytest.raises(ModelContractError, match="outputs"):
        AgeGenderClassifier(model)


def test_flip_average_is_the_mean_of_the_face_and_its_mirror_view(shipped_model, tmp_path):
    shipped = AgeGenderClassifier(shipped_model).contract
    assert shipped.flip_average
    one_view_model = tmp_path / "one_view.tflite"
    shutil.copyfile(shipped_model, one_view_model)
    contract = json.loads(contract_path(shipped_model).read_text())
    contract_path(one_view_model).write_text(json.dumps({**contract, "flip_average": False}))
    faces = [synthetic_face(age, gender, 90, seed=age) for age, gender in [(8, 1), (35, 0), (60, 1)]]
    inputs = prepare_faces(faces, AgeGenderClassifier(shipped_model).input_size)
    one_view = AgeGenderClassifier(one_view_model)
    plain = one_view.predict_inputs(inputs)
    mirrored = one_view.predict_inputs(mirror_views(inputs, shipped.mirror_resolution))
    both = AgeGenderClassifier(shipped_model, max_batch=2).predict_inputs(inputs)
    np.testing.assert_allclose(both.p_female, (plain.p_female + mirrored.p_female) / 2, atol=1e-6)
    # The age comes from the mean of the two views' distributions (each int8 one sums to 1 only roughly).
    views = [inputs, mirror_views(inputs, shipped.mirror_resolution)]
    raw = [one_view.model(image=view.astype(np.float32))[shipped.age_output] for view in views]
    expected_age, _ = labels.age_statistics((raw[0] + raw[1]) / 2)
    np.testing.assert_allclose(both.age, expected_age, atol=1e-4)
    np.testing.assert_allclose(both.age, (plain.age + mirrored.age) / 2, atol=0.3)
    assert np.all(both.age_std >= np.minimum(plain.age_std, mirrored.age_std) - 1e-4)


@pytest.mark.dataset
def test_shipped_model_accuracy_on_test_split_sample(shipped_model, utkface_dir):
    """A guard against shipping a broken model: the first 600 test-split faces, through the runtime."""
    from training.dataset import load_faces

    classifier = AgeGenderClassifier(shipped_model, num_threads=2, max_batch=64)
    data = load_faces(utkface_dir, classifier.input_size, cache_dir=Path.home() / ".cache" / "agegender")
    test = data.subset("test").head(600)
    prediction = classifier.predict_inputs(test.images)
    accuracy = np.mean((prediction.p_female >= 0.5) == test.genders)
    mae = np.mean(np.abs(prediction.age - labels.clip_age(test.ages)))
    assert accuracy >= 0.90
    assert mae <= 6.5
