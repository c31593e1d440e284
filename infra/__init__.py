"""Infrastructure floor: the CDK app, its stack and constructs, and the deployment settings."""
