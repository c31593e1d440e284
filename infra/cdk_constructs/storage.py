"""Storage: the input bucket, the results bucket and the bucket their access logs go to.

Results live in a second bucket rather than under a prefix of the input bucket: the input
bucket's lifecycle rule can expire raw uploads without touching results, the function can
read one bucket and write the other (least privilege without prefix gymnastics), and a result
write can never trigger another upload notification.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from audience.records import AUDIENCE_PREFIX
from infra.config import ATHENA_RESULTS_PREFIX, PipelineConfig
from infra.nag import acknowledge


def _secure_bucket_props(config: PipelineConfig) -> dict:
    """What every bucket here shares: private, encrypted, TLS only, owner-enforced."""
    return {
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "encryption": s3.BucketEncryption.S3_MANAGED,
        "enforce_ssl": True,
        "minimum_tls_version": 1.2,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        "removal_policy": RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        "auto_delete_objects": not config.retain_data,
    }


def _results_rules(config: PipelineConfig) -> list[s3.LifecycleRule]:
    """Retention per prefix of the results bucket: results, audience records and Athena output each expire
    on their own setting; nothing else (the rules document under ``config/``) ever does.
    """
    retention = (
        ("expire-results", config.results_prefix, config.results_expiry_days),
        ("expire-audience-records", AUDIENCE_PREFIX, config.audience_records_expiry_days),
        ("expire-athena-results", ATHENA_RESULTS_PREFIX, config.athena_results_expiry_days),
    )
    return [
        s3.LifecycleRule(id=name, prefix=prefix, expiration=Duration.days(days))
        for name, prefix, days in retention
        if days
    ]


class Storage(Construct):
    """Input and results buckets (and the access-log bucket when access logs are on)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: PipelineConfig) -> None:
        super().__init__(scope, construct_id)
        props = _secure_bucket_props(config)
        self.log_bucket: s3.Bucket | None = None
        if config.access_logs:
            # Server access logs cannot be delivered to a KMS-encrypted bucket; SSE-S3 it is.
            self.log_bucket = s3.Bucket(
                self,
                "AccessLogs",
                **{**props, "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_PREFERRED},
                lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            )
            acknowledge(
                self.log_bucket,
                "AwsSolutions-S1",
                "This is the access-log bucket itself; logging it into itself would loop.",
            )
        logging = {"server_access_logs_bucket": self.log_bucket} if self.log_bucket else {}

        upload_rules = [
            s3.LifecycleRule(
                id="expire-raw-uploads" if config.upload_expiry_days else "clean-up-old-versions",
                expiration=Duration.days(config.upload_expiry_days) if config.upload_expiry_days else None,
                noncurrent_version_expiration=Duration.days(1),
                expired_object_delete_marker=None if config.upload_expiry_days else True,
                abort_incomplete_multipart_upload_after=Duration.days(1),
            )
        ]
        self.input_bucket = s3.Bucket(
            self,
            "Input",
            **props,
            versioned=True,
            lifecycle_rules=upload_rules,
            **({"server_access_logs_prefix": "input/"} if self.log_bucket else {}),
            **logging,
        )
        self.results_bucket = s3.Bucket(
            self,
            "Results",
            **props,
            lifecycle_rules=_results_rules(config) or None,
            **({"server_access_logs_prefix": "results/"} if self.log_bucket else {}),
            **logging,
        )
        if not self.log_bucket:
            for bucket in (self.input_bucket, self.results_bucket):
                acknowledge(
                    bucket,
                    "AwsSolutions-S1",
                    "Access logs turned off by configuration (access_logs=false); CloudTrail data events "
                    "are the alternative for auditing object access.",
                )
