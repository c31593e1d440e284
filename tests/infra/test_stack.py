"""The synthesized template has the properties that matter (never counts of resources or logical IDs)."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Capture, Match, Template

from infra.cdk_constructs.inference import HANDLER as INFERENCE_HANDLER
from infra.config import ConfigError, PipelineConfig


def resources(template: Template, kind: str) -> dict:
    return template.find_resources(kind)


def only(template: Template, kind: str, props: dict | None = None) -> dict:
    found = template.find_resources(kind, {"Properties": props} if props else None)
    assert len(found) == 1, f"expected one {kind} matching {props}, found {len(found)}"
    return next(iter(found.values()))


def test_uploads_notify_the_topic_which_feeds_the_queue_raw(default_template):
    topic = Capture()
    default_template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "NotificationConfiguration": {
                "TopicConfigurations": [{"Events": ["s3:ObjectCreated:*"], "TopicArn": {"Ref": topic}}]
            }
        },
    )
    default_template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "sqs", "RawMessageDelivery": True, "TopicArn": {"Ref": topic.as_string()}},
    )


def test_queue_has_a_dead_letter_queue_and_outlasts_the_function(default_template):
    config = PipelineConfig()
    queue = only(
        default_template, "AWS::SQS::Queue", {"RedrivePolicy": Match.any_value(), "FifoQueue": Match.absent()}
    )["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    function = only(default_template, "AWS::Lambda::Function", {"Handler": INFERENCE_HANDLER})["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    assert queue["VisibilityTimeout"] == config.visibility_timeout_s
    for props in (p["Properties"] for p in resources(default_template, "AWS::SQS::Queue").values()):
        assert props["SqsManagedSseEnabled"] is True
        assert props["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_event_source_mapping_batches_and_reports_partial_failures(default_template):
    default_template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "BatchSize": 10,
            "MaximumBatchingWindowInSeconds": 0,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 50},
        },
    )


def test_function_runtime_architecture_and_tracing(default_template):
    props = only(default_template, "AWS::Lambda::Function", {"Handler": INFERENCE_HANDLER})["Properties"]
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == 1769
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert len(props["Layers"]) == 1
    env = props["Environment"]["Variables"]
    assert env["RESULTS_PREFIX"] == "results/"
    assert env["DELETE_SOURCE"] == "false"
    assert "RESULTS_TOPIC_ARN" not in env


def test_buckets_are_private_encrypted_and_tls_only(default_template):
    buckets = resources(default_template, "AWS::S3::Bucket")
    assert len(buckets) == 3  # input, results, access logs
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "AES256"
        }
        assert bucket["DeletionPolicy"] == "Retain"
    for policy in resources(default_template, "AWS::S3::BucketPolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"].get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in statements
        )


def test_input_bucket_is_versioned_logged_and_expires_uploads(default_template):
    props = only(default_template, "AWS::S3::Bucket", {"VersioningConfiguration": Match.any_value()})["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "input/"
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 7
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1


def test_topics_are_encrypted_and_tls_only(default_template):
    for topic in resources(default_template, "AWS::SNS::Topic").values():
        assert "KmsMasterKeyId" in topic["Properties"]
    for policy in resources(default_template, "AWS::SNS::TopicPolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s) for s in statements)
    key = only(default_template, "AWS::KMS::Key")["Properties"]
    assert key["EnableKeyRotation"] is True


def test_only_this_accounts_publishers_may_use_the_topic_and_its_key(default_template):
    uploads = [p for p in resources(default_template, "AWS::SNS::TopicPolicy").values()
               if "s3.amazonaws.com" in json.dumps(p)]  # fmt: skip
    (statements,) = [p["Properties"]["PolicyDocument"]["Statement"] for p in uploads]
    deny = next(s for s in statements if s.get("Sid") == "DenyS3FromOtherAccounts")
    assert deny["Effect"] == "Deny"
    assert deny["Action"] == "sns:Publish"
    assert set(deny["Condition"]["StringNotEquals"]) == {"aws:SourceAccount"}
    key_policy = only(default_template, "AWS::KMS::Key")["Properties"]["KeyPolicy"]["Statement"]
    services = [s for s in key_policy if "Service" in s.get("Principal", {})]
    assert {s["Principal"]["Service"] for s in services} == {"s3.amazonaws.com", "cloudwatch.amazonaws.com"}
    for statement in services:
        assert set(statement["Condition"]) == {"StringEquals", "ArnLike"}
        assert "aws:SourceArn" in statement["Condition"]["ArnLike"]


def test_results_expire_per_prefix_and_the_rules_document_never(default_template):
    props = only(default_template, "AWS::S3::Bucket", {"LoggingConfiguration": {"LogFilePrefix": "results/"}})
    rules = {
        rule["Prefix"]: rule["ExpirationInDays"] for rule in props["Properties"]["LifecycleConfiguration"]["Rules"]
    }
    config = PipelineConfig()
    assert rules == {
        "results/": config.results_expiry_days,
        "audience/": config.audience_records_expiry_days,
        "athena-results/": config.athena_results_expiry_days,
    }
    assert not any(config.rules_key.startswith(prefix) for prefix in rules)


def test_an_expiry_of_the_whole_results_bucket_is_refused():
    with pytest.raises(ConfigError, match="results_prefix"):
        PipelineConfig(results_prefix="")
    PipelineConfig(results_prefix="", results_expiry_days=0)


def _function_statements(template: Template) -> list[dict]:
    role = Capture()
    template.has_resource_properties(
        "AWS::Lambda::Function", {"Handler": INFERENCE_HANDLER, "Role": {"Fn::GetAtt": [role, "Arn"]}}
    )
    policies = template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role.as_string()}]}})
    return [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]


def _bucket_id(template: Template, **props) -> str:
    (logical_id,) = template.find_resources("AWS::S3::Bucket", {"Properties": props}).keys()
    return logical_id


def _object_arn(bucket_id: str, suffix: str) -> dict:
    return {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, suffix]]}


def test_function_reads_only_uploads_and_writes_only_results(default_template):
    statements = {
        s.get("Sid", ",".join(s["Action"]) if isinstance(s["Action"], list) else s["Action"]): s
        for s in _function_statements(default_template)
    }
    upload_bucket = _bucket_id(default_template, VersioningConfiguration=Match.any_value())
    results_bucket = _bucket_id(
        default_template, LoggingConfiguration={"LogFilePrefix": "results/", "DestinationBucketName": Match.any_value()}
    )
    assert statements["ReadUploads"]["Resource"] == _object_arn(upload_bucket, "/*")
    assert statements["ReadUploads"]["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert statements["WriteResults"]["Resource"] == _object_arn(results_bucket, "/results/*")
    assert statements["WriteResults"]["Action"] == "s3:PutObject"
    assert statements["TellMissingUploads"]["Resource"] == {"Fn::GetAtt": [upload_bucket, "Arn"]}
    wildcard = [s for s in statements.values() if s["Resource"] == "*"]
    assert [sorted(s["Action"]) for s in wildcard] == [["xray:PutTelemetryRecords", "xray:PutTraceSegments"]]
    assert not any("s3:Delete" in json.dumps(s["Action"]) for s in statements.values())
    actions = [a for s in statements.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert not [a for a in actions if a == "*" or a.endswith(":*")]


def test_alarms_cover_dead_letters_backlog_errors_and_throttles(default_template):
    alarm_topic = Capture()
    default_template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Namespace": "AWS/SQS",
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "AlarmActions": [{"Ref": alarm_topic}],
        },
    )
    for metric, namespace in (
        ("ApproximateAgeOfOldestMessage", "AWS/SQS"),
        ("Errors", "AWS/Lambda"),
        ("Throttles", "AWS/Lambda"),
    ):
        default_template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {"MetricName": metric, "Namespace": namespace, "AlarmActions": [{"Ref": alarm_topic.as_string()}]},
        )
    default_template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    outputs = default_template.find_outputs("*")
    for name in ("InputBucketName", "ResultsBucketName", "UploadsTopicArn", "QueueArn", "DeadLetterQueueArn"):
        assert name in outputs


def test_options_add_filters_fan_out_and_deletion(options_template):
    notification = only(options_template, "Custom::S3BucketNotifications")["Properties"]
    (topic_config,) = notification["NotificationConfiguration"]["TopicConfigurations"]
    rules = {rule["Name"]: rule["Value"] for rule in topic_config["Filter"]["Key"]["FilterRules"]}
    assert rules == {"prefix": "cameras/", "suffix": ".jpg"}
    function = only(options_template, "AWS::Lambda::Function", {"Handler": INFERENCE_HANDLER})["Properties"]
    assert function["Architectures"] == ["x86_64"]
    env = function["Environment"]["Variables"]
    assert env["DELETE_SOURCE"] == "true"
    assert "Ref" in env["RESULTS_TOPIC_ARN"]
    statements = _function_statements(options_template)
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion", "sns:Publish", "kms:GenerateDataKey*"} <= actions
    delete = next(s for s in statements if s.get("Sid") == "DeleteProcessedUploads")
    assert delete["Resource"]["Fn::Join"][1][1] == "/cameras/*"
    options_template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )
    assert "ResultsTopicArn" in options_template.find_outputs("*")
    for bucket in resources(options_template, "AWS::S3::Bucket").values():
        assert bucket["DeletionPolicy"] == "Delete"
