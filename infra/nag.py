"""Acknowledged cdk-nag findings: each names its rule and says why, in code next to the resource."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Accept one finding (``AwsSolutions-XX`` or ``AwsSolutions-XX[finding]``) on ``scope`` and its children."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))
