"""Settings from the environment, the error hierarchy, and atomic file output."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from cameoguard import errors
from cameoguard.fsutil import atomic_output, write_private_file
from cameoguard.settings import Settings, get_settings


def test_defaults_live_under_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CAMEOGUARD_DATA_DIR", str(tmp_path / "cg"))
    get_settings.cache_clear()
    s = get_settings()
    assert s.data_dir == tmp_path / "cg"
    assert s.signing_key_path == tmp_path / "cg" / "keys" / "signer.key"
    assert s.signing_cert_path == tmp_path / "cg" / "keys" / "signer-chain.pem"
    assert s.effective_database_url == f"sqlite:///{tmp_path / 'cg' / 'cameoguard.db'}"
    assert s.trust_anchors is None  # the dev root is trusted only when configured
    assert s.tsa_url is None
    assert get_settings() is s  # cached


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CAMEOGUARD_MAX_VIDEO_SECONDS", "12.5")
    monkeypatch.setenv("CAMEOGUARD_MAX_UPLOAD_BYTES", "1000")
    monkeypatch.setenv("CAMEOGUARD_DATABASE_URL", "postgresql+psycopg://u@db/cg")
    monkeypatch.setenv("CAMEOGUARD_TRUST_ANCHORS", "~/anchors.pem")
    s = Settings()
    assert s.max_video_seconds == 12.5
    assert s.max_upload_bytes == 1000
    assert s.effective_database_url == "postgresql+psycopg://u@db/cg"
    assert s.trust_anchors == Path("~/anchors.pem").expanduser()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CAMEOGUARD_MAX_PIXELS", "0", "greater than 0"),
        ("CAMEOGUARD_MAX_AUDIO_SECONDS", "lots", "valid number"),
        ("CAMEOGUARD_TSA_URL", "ftp://tsa", "http"),
    ],
)
def test_invalid_values_are_rejected(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_every_error_has_a_stable_code() -> None:
    classes = [getattr(errors, n) for n in errors.__all__]
    codes = [c.code for c in classes]
    assert len(set(codes)) == len(codes), "codes must be unique"
    for cls in classes:
        assert issubclass(cls, errors.CameoguardError)
        assert cls.__name__ in errors.__doc__, f"{cls.__name__} missing from the drawn tree"
    e = errors.MediaLimitError("too big; shrink it")
    assert (str(e), e.code) == ("too big; shrink it", "media.limit")
    assert isinstance(e, errors.BadInputError)


def test_atomic_output_publishes_or_leaves_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "out.bin"
    with atomic_output(dest) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.suffix == ".bin"
        tmp.write_bytes(b"complete")
    assert dest.read_bytes() == b"complete"

    def crash_halfway() -> None:
        with atomic_output(dest) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("encoder crashed")

    with pytest.raises(RuntimeError):
        crash_halfway()
    assert dest.read_bytes() == b"complete"  # untouched
    with pytest.raises(OSError, match="empty"), atomic_output(tmp_path / "empty.bin"):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_private_files_are_0600(tmp_path: Path) -> None:
    key = tmp_path / "k" / "secret.key"
    write_private_file(key, b"secret")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
