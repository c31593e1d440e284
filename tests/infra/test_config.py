"""The deployment configuration: defaults, overrides from cdk.json / -c, and actionable errors."""

from __future__ import annotations

import json

import pytest

from infra.config import ConfigError, PipelineConfig


def test_defaults_follow_the_aws_guidance():
    config = PipelineConfig()
    assert config.visibility_timeout_s == 6 * config.timeout_s
    assert config.max_receive_count == 5
    assert config.architecture == "arm64"


def test_context_overrides_accept_json_text_and_strings():
    config = PipelineConfig.from_context(
        json.dumps({"architecture": "x86_64", "batch_size": "5", "delete_source": "true"})
    )
    assert (config.architecture, config.batch_size, config.delete_source) == ("x86_64", 5, True)
    assert PipelineConfig.from_context({"function_environment": {"MIN_FACE_CONFIDENCE": 70}}).function_environment == {
        "MIN_FACE_CONFIDENCE": "70"
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"colour": "red"}, "unknown agegender settings ['colour']"),
        ({"architecture": "sparc"}, "architecture='sparc'"),
        ({"timeout_s": 901}, "timeout_s=901"),
        ({"batch_size": 50}, "batching_window_s of at least 1"),
        ({"visibility_timeout_factor": 2}, "visibility_timeout_factor=2"),
        ({"log_retention_days": 31}, "log_retention_days=31"),
        ({"results_prefix": "out"}, "must be empty or end with '/'"),
        ({"function_environment": {"RESULTS_BUCKET": "x"}}, "may not set"),
        ({"memory_mb": "lots"}, "memory_mb='lots' is not a int"),
        ({"classifier": "huge"}, "classifier='huge' must be one of ['accurate', 'small']"),
    ],
)
def test_bad_overrides_say_what_is_wrong(overrides, message):
    with pytest.raises(ConfigError, match=None) as error:
        PipelineConfig.from_context(overrides)
    assert message in str(error.value)


def test_handler_environment_is_what_the_function_reads():
    from agegender.settings import VARIABLES

    env = PipelineConfig(results_topic=True).handler_environment(results_bucket="r", results_topic_arn="arn:aws:sns:x")
    assert set(env) <= set(VARIABLES)
    assert env["RESULTS_TOPIC_ARN"] == "arn:aws:sns:x"


def test_the_chosen_classifier_reaches_the_function_and_its_package(tmp_path):
    from agegender.settings import Settings
    from layers.build import stage_function

    env = PipelineConfig(classifier="accurate").handler_environment(results_bucket="r", results_topic_arn=None)
    assert env["CLASSIFIER"] == "accurate"
    assert Settings.from_env(env).model_path.name == "faceres_deep_f16.tflite"
    package = stage_function(tmp_path / "function", classifier="accurate").path
    assert (package / "models" / "accurate" / "faceres_deep_f16.contract.json").exists()
    assert not (package / "models" / "agegender.tflite").exists()  # only the chosen classifier ships
