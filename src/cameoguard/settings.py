"""Settings: one validated object, read from ``CAMEOGUARD_*`` environment variables.

Everything cameoguard writes (database, keys, ledger, models) lives under ``data_dir`` unless
a setting points elsewhere. Nothing is read at import time: call :func:`get_settings` (cached)
or build :class:`Settings` directly in tests and pass it down.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]

MIB = 1024 * 1024


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("cameoguard", appauthor=False))


class Settings(BaseSettings):
    """All configuration. Environment variable = ``CAMEOGUARD_`` + field name in capitals."""

    model_config = SettingsConfigDict(env_prefix="CAMEOGUARD_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where cameoguard keeps its database, keys, ledger and models.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file cameoguard.db in data_dir.",
    )
    signing_cert: Path | None = Field(
        default=None,
        description="PEM chain: signing certificate first, then intermediates (no root). "
        "Default: data_dir/keys/signer-chain.pem (made by `cameoguard keys init`).",
    )
    signing_key: Path | None = Field(
        default=None,
        description="PEM private key of the signing certificate. "
        "Default: data_dir/keys/signer.key.",
    )
    trust_anchors: Path | None = Field(
        default=None,
        description="PEM file of root certificates whose signatures verify as 'trusted'.",
    )
    tsa_url: str | None = Field(
        default=None,
        description="RFC 3161 time-stamp authority URL. Unset: no time-stamp, no network.",
    )
    watermark_key_file: Path | None = Field(
        default=None,
        description="Hex file holding the deployment's 32-byte watermark key. "
        "Default: data_dir/keys/watermark.key (made by `cameoguard keys init`).",
    )
    max_upload_bytes: int = Field(default=512 * MIB, gt=0)
    max_pixels: int = Field(
        default=80_000_000, gt=0, description="Per image or video frame (width x height)."
    )
    max_video_seconds: float = Field(default=300.0, gt=0)
    max_audio_seconds: float = Field(default=600.0, gt=0)

    # -- consent registry and face matching
    face_embedder: str = Field(
        default="dlib_resnet",
        description="Face embedder used for enrollment and identification "
        "(dlib_resnet or facenet_vggface2).",
    )
    facenet_checkpoint: Path | None = Field(
        default=None,
        description="facenet-pytorch InceptionResnetV1 VGGFace2 checkpoint. Default: "
        "$TORCH_HOME/checkpoints/20180402-114759-vggface2.pt (torch's cache).",
    )
    face_match_threshold: float | None = Field(
        default=None,
        gt=0,
        description="Override the embedder's calibrated match distance (probe to template).",
    )
    face_min_size: int = Field(
        default=80, ge=20, description="Smallest face (box side, pixels) accepted for enrollment."
    )
    identify_video_frames: int = Field(
        default=16, ge=1, le=256, description="Frames sampled from a video by identify."
    )
    consent_grant_ttl_s: int = Field(
        default=3600, gt=0, description="How long a consent grant from authorize() is valid."
    )

    api_rate_per_minute: int = Field(
        default=600,
        ge=1,
        description="Requests per API key per minute, per worker (burst: the same).",
    )
    api_sync_video_seconds: float = Field(
        default=30.0, ge=0, description="Longer videos sent to /v1/verify become a job (202)."
    )
    webhook_secret: str | None = Field(
        default=None, repr=False, description="HMAC key for job webhooks (never logged)."
    )
    webhook_allow_hosts: str = Field(
        default="",
        description="Hosts job webhooks may be sent to, comma-separated: a name "
        "(hooks.example.com), a suffix (.example.com: it and every name under it) or * (any "
        "host). A host that resolves to a loopback, private, link-local or other non-public "
        "address is refused unless it is listed by its exact name (or IP address). Empty: "
        "every webhook is refused.",
    )
    public_url: str = Field(
        default="http://localhost:8000",
        description="Base URL of this deployment's API; consent status URLs in manifests use it.",
    )
    generation_scan_frames: int = Field(
        default=16, ge=1, le=256, description="Frames of a generated video scanned for faces."
    )
    generation_unmatched_faces: Literal["allow", "deny"] = Field(
        default="allow",
        description="What to do with a generated face that matches no enrolled person.",
    )
    generation_visible_badge: bool = Field(
        default=False, description="Also draw a visible 'AI' badge on generated pictures."
    )
    generation_max_prompt_chars: int = Field(default=4000, ge=1, le=100_000)
    http_backend_url: str | None = Field(
        default=None, description="Base URL of a remote video-generation API (http backend)."
    )
    http_backend_provider: str = Field(
        default="openai_videos", description="Protocol mapping of the remote API."
    )
    http_backend_model: str = Field(default="sora-2", description="Model name sent upstream.")
    http_backend_api_key: SecretStr | None = Field(
        default=None, description="Bearer token for the remote API (never logged)."
    )
    http_backend_timeout_s: float = Field(
        default=900.0, gt=0, description="Longest wait for one remote generation, end to end."
    )
    detector_model: Path | None = Field(
        default=None,
        description="A detector model trained and calibrated by `cameoguard detect train`, or "
        "'builtin' for the small face_cnn model shipped in the package (read its card first).",
    )
    mesonet_weights: Path | None = Field(
        default=None, description="Folder with the published MesoNet .h5 weights (Apache-2.0)."
    )
    diffusers_model_path: Path | None = Field(
        default=None, description="Local diffusers pipeline folder for the diffusers backend."
    )

    @field_validator("public_url", "http_backend_url")
    @classmethod
    def _is_http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value.rstrip("/")

    @field_validator("tsa_url")
    @classmethod
    def _tsa_is_http(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                f"CAMEOGUARD_TSA_URL must be an http(s) URL, got {value!r}; unset it to sign "
                "without a time-stamp"
            )
        return value

    @model_validator(mode="after")
    def _expand_paths(self) -> Settings:
        # Frozen model: use object.__setattr__ to normalise ~ in paths once.
        for name in (
            "data_dir",
            "signing_cert",
            "signing_key",
            "trust_anchors",
            "watermark_key_file",
            "facenet_checkpoint",
            "diffusers_model_path",
            "mesonet_weights",
            "detector_model",
        ):
            value = getattr(self, name)
            if isinstance(value, Path):
                object.__setattr__(self, name, value.expanduser())
        return self

    @property
    def webhook_allowed_hosts(self) -> tuple[str, ...]:
        """CAMEOGUARD_WEBHOOK_ALLOW_HOSTS as lower-case entries, without blanks."""
        entries = (h.strip().lower().rstrip(".") for h in self.webhook_allow_hosts.split(","))
        return tuple(h for h in entries if h)

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def signing_cert_path(self) -> Path:
        return self.signing_cert or self.keys_dir / "signer-chain.pem"

    @property
    def signing_key_path(self) -> Path:
        return self.signing_key or self.keys_dir / "signer.key"

    @property
    def watermark_key_path(self) -> Path:
        return self.watermark_key_file or self.keys_dir / "watermark.key"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'cameoguard.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
