"""The smart-display stage in the synthesized template: FIFO per camera, state, least privilege, reports."""

from __future__ import annotations

from aws_cdk.assertions import Capture, Match, Template

from infra.cdk_constructs.inference import HANDLER as INFERENCE_HANDLER
from infra.config import PipelineConfig
from tests.infra.conftest import synthesize
from tests.infra.test_stack import only


def _statements(template: Template, handler: str) -> list[dict]:
    role = Capture()
    template.has_resource_properties(
        "AWS::Lambda::Function", {"Handler": handler, "Role": {"Fn::GetAtt": [role, "Arn"]}}
    )
    policies = template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role.as_string()}]}})
    return [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]


def test_camera_frames_flow_through_a_fifo_topic_and_queue_with_a_dead_letter_queue(default_template):
    topic = only(default_template, "AWS::SNS::Topic", {"FifoTopic": True})["Properties"]
    assert topic["KmsMasterKeyId"]
    queue = only(default_template, "AWS::SQS::Queue", {"FifoQueue": True, "RedrivePolicy": Match.any_value()})
    assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == PipelineConfig().max_receive_count
    default_template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "sqs", "RawMessageDelivery": True, "TopicArn": Match.any_value()}
    )
    inference = only(default_template, "AWS::Lambda::Function", {"Handler": INFERENCE_HANDLER})["Properties"]
    assert "CAMERA_TOPIC_ARN" in inference["Environment"]["Variables"]
    default_template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"FunctionResponseTypes": ["ReportBatchItemFailures"], "EventSourceArn": Match.any_value(), "BatchSize": 10},
    )


def test_state_table_is_recoverable_and_encrypted(default_template):
    table = only(default_template, "AWS::DynamoDB::Table")["Properties"]
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["KeySchema"] == [{"AttributeName": "Id", "KeyType": "HASH"}]


def test_the_stage_may_touch_only_its_state_records_rules_and_decisions(default_template):
    statements = {s.get("Sid"): s for s in _statements(default_template, "audience_handler.handler")}
    assert set(statements["State"]["Action"]) == {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:Scan",
    }
    assert statements["WriteRecords"]["Action"] == "s3:PutObject"
    assert statements["WriteRecords"]["Resource"]["Fn::Join"][1][-1] == "/audience/*"
    assert statements["ReadRules"]["Resource"]["Fn::Join"][1][-1] == "/config/display-rules.json"
    assert statements["TellMissingRules"]["Condition"] == {"StringEquals": {"s3:prefix": "config/display-rules.json"}}
    assert not any("s3:DeleteObject" in str(s.get("Action")) for s in statements.values())


def test_displays_read_their_decision_behind_iam_and_nothing_else(default_template):
    url = only(default_template, "AWS::Lambda::Url")["Properties"]
    assert url["AuthType"] == "AWS_IAM"
    statements = _statements(default_template, "audience_handler.decision")
    writes = [s for s in statements if "PutItem" in str(s["Action"]) or "s3:" in str(s["Action"])]
    assert writes == []
    assert any(s["Action"] == "dynamodb:GetItem" for s in statements)


def test_a_schedule_sweeps_quiet_cameras(default_template):
    rule = only(default_template, "AWS::Events::Rule")["Properties"]
    assert rule["ScheduleExpression"] == "rate(1 minute)"
    assert rule["Targets"][0]["Input"] == '{"sweep":true}'


def test_reports_have_a_partitioned_glue_table_an_encrypted_workgroup_and_queries(default_template):
    table = only(default_template, "AWS::Glue::Table")["Properties"]["TableInput"]
    assert [k["Name"] for k in table["PartitionKeys"]] == ["camera", "date"]
    assert table["Parameters"]["projection.enabled"] == "true"
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    workgroup = only(default_template, "AWS::Athena::WorkGroup")["Properties"]["WorkGroupConfiguration"]
    assert workgroup["EnforceWorkGroupConfiguration"] is True
    assert workgroup["ResultConfiguration"]["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}
    assert len(default_template.find_resources("AWS::Athena::NamedQuery")) == 2


def test_alarms_cover_the_stage(default_template):
    names = [
        a["Properties"]["AlarmDescription"] for a in default_template.find_resources("AWS::CloudWatch::Alarm").values()
    ]
    assert any("audience stage" in n for n in names)
    assert any("audience function failed" in n for n in names)


def test_the_stage_can_be_left_out(packages, tmp_path):
    template = Template.from_json(synthesize(PipelineConfig(audience_stage=False), packages, tmp_path))
    template.resource_count_is("AWS::DynamoDB::Table", 0)
    template.resource_count_is("AWS::SNS::Topic", 2)  # uploads and alarms
    inference = only(template, "AWS::Lambda::Function", {"Handler": INFERENCE_HANDLER})["Properties"]
    assert "CAMERA_TOPIC_ARN" not in inference["Environment"]["Variables"]


def test_the_glue_table_has_a_column_for_every_record_field_and_no_appearance():
    from agegender.frame_message import Face
    from audience.records import minute_record, track_record
    from audience.tracker import Track
    from infra.cdk_constructs.audience import RECORD_COLUMNS

    face = Face(0.1, 0.2, 0.1, 0.12, True, "Female", 95.0, 30.0, "adult", True, 24.0, (3,) * 24)
    track = Track.start("door-1", face, 1_795_780_800.0, "cameras/door/a.jpg")
    _, record = track_record("door", track)
    _, minute = minute_record({"camera": "door", "minute": 1_795_780_800.0, "opportunities_to_see": 1, "watchers": 1,
                               "mix": {}})  # fmt: skip
    assert set(record) | set(minute) == set(RECORD_COLUMNS) | {"camera"}  # camera is the partition
    assert record["first_box"] == [0.1, 0.2, 0.1, 0.12]
    assert record["first_frame"] == record["last_frame"] == "cameras/door/a.jpg"
    assert "appearance" not in record
