import pytest

from agegender.exceptions import InvalidConfigurationError
from agegender.settings import Settings


def test_defaults_need_only_the_results_bucket(shipped_model):
    settings = Settings.from_env({"RESULTS_BUCKET": "results"})
    assert settings.results_bucket == "results"
    assert settings.results_prefix == "results/"
    assert settings.model_path == shipped_model
    assert settings.analyzer.min_confidence == pytest.approx(0.5)
    assert settings.analyzer.age_groups.names == ("child", "teen", "adult", "senior")
    assert settings.results_topic_arn is None
    assert settings.delete_source is False


def test_overrides(shipped_model):
    settings = Settings.from_env(
        {
            "RESULTS_BUCKET": "r",
            "RESULTS_PREFIX": "out/",
            "MIN_FACE_CONFIDENCE": "75",
            "AGE_GROUPS": "young:0-29,old:30-",
            "RESULTS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:results",
            "DELETE_SOURCE": "TRUE",
        }
    )
    assert settings.results_topic_arn == "arn:aws:sns:eu-west-1:123456789012:results"
    assert settings.delete_source is True
    assert settings.results_prefix == "out/"
    assert settings.analyzer.min_confidence == pytest.approx(0.75)
    assert settings.analyzer.age_groups.names == ("young", "old")


def test_every_problem_is_named_at_once(shipped_model):
    env = {
        "DELETE_SOURCE": "yes",
        "RESULTS_TOPIC_ARN": "results",
        "NUM_THREADS": "many",
        "MIN_FACE_CONFIDENCE": "150",
        "AGE_GROUPS": "x",
        "MODEL_PATH": "/nope.tflite",
        "RESULTS_PREFIX": "out",
        "CLASSIFIER": "huge",
    }
    with pytest.raises(InvalidConfigurationError) as error:
        Settings.from_env(env)
    message = str(error.value)
    for name in (
        "DELETE_SOURCE",
        "RESULTS_TOPIC_ARN",
        "RESULTS_BUCKET",
        "NUM_THREADS",
        "MIN_FACE_CONFIDENCE",
        "AGE_GROUPS",
        "MODEL_PATH",
        "RESULTS_PREFIX",
        "CLASSIFIER",
    ):
        assert name in message


def test_powertools_names_default_to_the_package_identity(shipped_model):
    settings = Settings.from_env({"RESULTS_BUCKET": "r"})
    assert (settings.service_name, settings.metrics_namespace) == ("agegender", "AgeGender")
    renamed = Settings.from_env({"RESULTS_BUCKET": "r", "POWERTOOLS_SERVICE_NAME": "shop-a"})
    assert renamed.service_name == "shop-a"


def test_the_close_up_pass_must_use_a_shipped_square_input(shipped_model):
    assert Settings.from_env({"RESULTS_BUCKET": "r", "DETECTION_CLOSE_UP_SIDE": "320"}).analyzer.close_up_side == 320
    with pytest.raises(InvalidConfigurationError, match="DETECTION_CLOSE_UP_SIDE=500 must be 0 or a shipped square"):
        Settings.from_env({"RESULTS_BUCKET": "r", "DETECTION_CLOSE_UP_SIDE": "500"})
