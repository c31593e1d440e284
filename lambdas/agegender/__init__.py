"""Age and gender inference: the runtime library shared by the Lambda, the CLI and training.

Only numpy and pillow (plus a TFLite runtime for inference) may be imported here:
the Lambda package never imports TensorFlow.
"""

__version__ = "0.1.0"

#: Default Powertools service name and CloudWatch metrics namespace (``POWERTOOLS_*`` override them).
SERVICE_NAME = "agegender"
METRICS_NAMESPACE = "AgeGender"
