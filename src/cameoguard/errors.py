"""Every error cameoguard raises, in one hierarchy.

Domain code raises these; the CLI maps them to exit codes and the API (later) maps them to
HTTP statuses in one place. Absence is not an error: a file without a manifest, watermark or
face is a normal result, reported as such. Exceptions are for input that is bad, corrupt or
hostile, for missing configuration, and for operations that could not complete.

Every message says what was wrong and what to do about it.

    CameoguardError                     base; ``code`` is a stable machine-readable id
    ├── BadInputError                   the caller's input is unusable (CLI exit 2, HTTP 4xx)
    │   ├── FileNotFoundInputError      the named file does not exist or is not a file
    │   ├── UnsupportedMediaError       content is not a media type cameoguard handles
    │   ├── CorruptMediaError           empty, truncated or undecodable content
    │   ├── MediaLimitError             over a configured limit (bytes, pixels, seconds)
    │   ├── WatermarkCapacityError      too small, too short or silent to carry a watermark
    │   ├── EnrollmentError             enrollment samples refused (no face, blur, liveness, ...)
    │   ├── NotFoundError               a cameo, protected person or grant id that is not known
    │   └── ConsentPolicyError          a permission change the policy forbids (minor + everyone)
    ├── ConfigurationError              settings or key material are missing or unusable
    │   ├── KeyMaterialError            signing key / certificate chain missing or invalid
    │   │   └── CertificateProfileError certificate expired or not usable for C2PA signing
    │   └── ModelUnavailableError       model weights are not where settings say (no download)
    ├── PermissionDeniedError           the actor may not act on this cameo (not its owner)
    │   ├── ConsentDeniedError          a cameo's consent does not cover this generation
    │   └── FaceScanViolationError      generated output shows a face it may not show
    └── OperationError                  a valid request that could not be carried out
        ├── SigningError                C2PA signing failed (nothing was written)
        ├── GenerationError             the pipeline failed at a stage (nothing was written)
        │   ├── BackendError            the generator backend failed (remote error, crash)
        │   │   └── BackendTimeoutError the backend did not finish in time
        │   └── GenerationCancelledError the caller cancelled the generation
        └── VerificationError           a manifest could not be read at all
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BackendTimeoutError",
    "BadInputError",
    "CameoguardError",
    "CertificateProfileError",
    "ConfigurationError",
    "ConsentDeniedError",
    "ConsentPolicyError",
    "CorruptMediaError",
    "EnrollmentError",
    "FaceScanViolationError",
    "FileNotFoundInputError",
    "GenerationCancelledError",
    "GenerationError",
    "KeyMaterialError",
    "MediaLimitError",
    "ModelUnavailableError",
    "NotFoundError",
    "OperationError",
    "PermissionDeniedError",
    "SigningError",
    "UnsupportedMediaError",
    "VerificationError",
    "WatermarkCapacityError",
]


class CameoguardError(Exception):
    """Base class. ``code`` is stable across releases; ``message`` is for people."""

    code: str = "cameoguard.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class BadInputError(CameoguardError):
    code = "input.bad"


class FileNotFoundInputError(BadInputError):
    code = "input.not_found"


class UnsupportedMediaError(BadInputError):
    code = "media.unsupported"


class CorruptMediaError(BadInputError):
    code = "media.corrupt"


class MediaLimitError(BadInputError):
    code = "media.limit"


class WatermarkCapacityError(BadInputError):
    """The medium cannot carry a watermark (too small, too short, silent)."""

    code = "watermark.capacity"


class EnrollmentError(BadInputError):
    """Enrollment samples were refused; ``code`` says why (``enroll.no_face``, ...)."""

    code = "enroll.rejected"


class NotFoundError(BadInputError):
    code = "not_found"


class ConsentPolicyError(BadInputError):
    """A permission change that the consent policy does not allow."""

    code = "consent.policy"


class PermissionDeniedError(CameoguardError):
    """The acting account may not do this (it does not own the cameo)."""

    code = "permission.denied"


class ConsentDeniedError(PermissionDeniedError):
    """Consent for a requested cameo does not cover this generation; nothing was generated."""

    code = "consent.denied"


class FaceScanViolationError(PermissionDeniedError):
    """The generated output shows a face it may not show; the output was discarded."""

    code = "generation.face_violation"


class ConfigurationError(CameoguardError):
    code = "config.invalid"


class KeyMaterialError(ConfigurationError):
    code = "keys.invalid"


class CertificateProfileError(KeyMaterialError):
    code = "keys.certificate_profile"


class ModelUnavailableError(ConfigurationError):
    """Model weights are missing; nothing is downloaded at run time."""

    code = "model.unavailable"


class OperationError(CameoguardError):
    code = "operation.failed"


class SigningError(OperationError):
    code = "c2pa.sign_failed"


class VerificationError(OperationError):
    code = "c2pa.read_failed"


class GenerationError(OperationError):
    """A generation failed at one stage; nothing was written and the ledger is unchanged."""

    code = "generation.failed"


class BackendError(GenerationError):
    code = "generation.backend_failed"


class BackendTimeoutError(BackendError):
    code = "generation.backend_timeout"


class GenerationCancelledError(GenerationError):
    code = "generation.cancelled"
