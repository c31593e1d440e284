"""Domain errors of the runtime library; each carries a stable, Rekognition-style code."""

from __future__ import annotations


class AgeGenderError(Exception):
    """Base class: ``code`` is what a result's ``Error.Code`` says."""

    code = "InternalError"


class ModelContractError(AgeGenderError):
    """The model file does not match its contract (input size, outputs, label version)."""

    code = "ModelContractError"


class RuntimeUnavailableError(AgeGenderError):
    """Neither ``ai_edge_litert`` nor ``tflite_runtime`` can be imported."""

    code = "RuntimeUnavailable"


class InvalidConfigurationError(AgeGenderError, ValueError):
    """The function's configuration (environment) is invalid; raised at cold start."""

    code = "InvalidConfiguration"


class InvalidAgeGroupTableError(InvalidConfigurationError):
    """An age-group table specification cannot be parsed."""


class InvalidImageFormatError(AgeGenderError):
    """The bytes are not an image pillow can decode (empty, truncated, corrupt, not an image)."""

    code = "InvalidImageFormat"


class ImageTooLargeError(AgeGenderError):
    """The object exceeds the byte limit or declares more pixels than the pixel limit."""

    code = "ImageTooLarge"


class DecodeBudgetExceededError(ImageTooLargeError):
    """Decoding would take more work than the budget allows (progressive scans, the deadline)."""


class AnalysisFailedError(AgeGenderError):
    """The image decoded but its analysis failed unexpectedly (a bug: reported, never retried)."""

    code = "AnalysisFailed"


class InvalidPathError(AgeGenderError):
    """A local path given to the command line cannot be read."""

    code = "InvalidPath"


class InvalidEventError(AgeGenderError):
    """A queue message that is not an S3 event notification (it can never succeed: a poison message)."""

    code = "InvalidEvent"


class InvalidS3ObjectError(AgeGenderError):
    """The announced object (or version) no longer exists or cannot be read as an object."""

    code = "InvalidS3Object"


class AccessDeniedError(AgeGenderError):
    """The function may not read the announced object."""

    code = "AccessDenied"
