"""The CDK stacks."""
