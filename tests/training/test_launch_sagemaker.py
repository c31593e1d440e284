import json
from pathlib import Path

import pytest

from training.launch_sagemaker import estimator_config, main

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def test_estimator_config():
    config = estimator_config(role=ROLE, output="s3://bucket/agegender/", hyperparameters={"epochs": "5"})
    assert config["entry_point"] == "train.py"
    assert (Path(config["source_dir"]) / config["entry_point"]).exists()
    assert all(Path(d).is_dir() for d in config["dependencies"])
    assert {Path(d).name for d in config["dependencies"]} == {"agegender", "training"}
    assert config["output_path"] == "s3://bucket/agegender/jobs"
    assert config["checkpoint_s3_uri"] == "s3://bucket/agegender/checkpoints"
    assert config["checkpoint_local_path"] == "/opt/ml/checkpoints"
    assert config["hyperparameters"]["epochs"] == "5"
    assert all(isinstance(v, str) for v in config["hyperparameters"].values())
    assert config["use_spot_instances"] is True
    assert config["max_wait"] >= config["max_run"]
    assert "use_spot_instances" not in estimator_config(role=ROLE, output="s3://b/p", spot=False)


def test_bad_arguments():
    with pytest.raises(ValueError, match="role"):
        estimator_config(role="SageMakerRole", output="s3://b/p")
    with pytest.raises(ValueError, match="s3://"):
        estimator_config(role=ROLE, output="/local/path")
    with pytest.raises(SystemExit):
        main(["--role", ROLE, "--data", "/local", "--output", "s3://b/p"])


def test_dry_run_prints_the_configuration(capsys):
    assert (
        main(["--role", ROLE, "--data", "s3://b/utk/", "--output", "s3://b/out", "--hyperparameter", "epochs=2"]) == 0
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed["inputs"] == {"training": "s3://b/utk/"}
    assert printed["estimator"]["hyperparameters"]["epochs"] == "2"
