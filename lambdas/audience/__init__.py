"""The smart-display stage: camera frames' results -> tracks, audience records and ad decisions.

Floors, lowest first: ``frames`` (the message a frame arrives as), ``tracker`` (linking faces
between frames, no identity), ``camera`` (one camera's ordered, redelivery-proof state),
``rules`` (the rules document and the decision, with its guardrails), ``records`` (audience
records in S3), ``store`` (DynamoDB), ``stage`` (one frame or one sweep end to end),
``function`` (the Lambda handlers). It reads ``agegender``'s result schema, never its models:
the stage needs neither numpy nor TFLite.
"""

#: Default Powertools service name (``POWERTOOLS_SERVICE_NAME`` overrides it); the metrics namespace is the pipeline's.
SERVICE_NAME = "agegender-audience"
