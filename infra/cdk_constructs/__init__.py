"""CDK constructs, one per concern: storage, messaging, inference, monitoring."""
