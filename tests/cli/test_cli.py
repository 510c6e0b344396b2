"""The command line: exit codes, human and JSON output, errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cameoguard.cli.main import ExitCode, main
from tests.provenance.helpers import flip_media_bytes


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    data = tmp_path / "data"
    code, out, _ = _run(capsys, "--data-dir", str(data), "keys", "init", "--json")
    assert code == ExitCode.OK
    paths = json.loads(out)
    assert Path(paths["signer_key"]).stat().st_mode & 0o777 == 0o600
    return data


def test_keys_init_refuses_overwrite(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "--data-dir", str(data_dir), "keys", "init")
    assert code == ExitCode.BAD_INPUT
    assert "already exist" in err
    assert "Traceback" not in err


def test_sign_then_verify_json_and_human(
    data_dir: Path, sample_media: dict[str, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    out_file = tmp_path / "signed.jpg"
    code, out, _ = _run(capsys, "--data-dir", str(data_dir), "sign", str(sample_media["jpeg"]),
                        "-o", str(out_file), "--ai-generated", "--generator", "demo-gen",
                        "--title", "A sunset", "--json")  # fmt: skip
    assert code == ExitCode.OK, out
    assert json.loads(out)["media_type"] == "image/jpeg"

    # Without anchors: valid but untrusted, exit 0; with --require-trusted: exit 1.
    code, out, _ = _run(capsys, "--data-dir", str(data_dir), "verify", str(out_file), "--json")
    assert code == ExitCode.OK
    (report,) = json.loads(out)
    assert report["state"] == "valid"
    assert report["ai_generated"] is True
    assert report["title"] == "A sunset"
    code, _, _ = _run(capsys, "--data-dir", str(data_dir), "verify", str(out_file),
                      "--require-trusted")  # fmt: skip
    assert code == ExitCode.PROBLEMS

    monkeypatch.setenv("CAMEOGUARD_TRUST_ANCHORS", str(data_dir / "keys" / "dev-trust-anchors.pem"))
    monkeypatch.setenv("COLUMNS", "200")  # keep rich from wrapping the table
    code, out, _ = _run(capsys, "--data-dir", str(data_dir), "verify", str(out_file))
    assert code == ExitCode.OK
    for words in ("TRUSTED", "AI-generated", "cameoguard dev signer", "Intact", "demo-gen"):
        assert words in out, words

    tampered = tmp_path / "tampered.jpg"
    flip_media_bytes(out_file, tampered, "jpeg")
    code, out, _ = _run(capsys, "--data-dir", str(data_dir), "verify", str(tampered))
    assert code == ExitCode.PROBLEMS
    assert "INVALID" in out
    assert "changed after signing" in out


def test_verify_mixed_batch_reports_each_file(
    sample_media: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("hello\n" * 50)
    code, out, _ = _run(capsys, "verify", str(sample_media["png"]), str(text),
                        str(tmp_path / "missing.mp4"), "--json")  # fmt: skip
    assert code == ExitCode.BAD_INPUT
    first, second, third = json.loads(out)
    assert first["state"] == "absent"
    assert second["error"]["code"] == "media.unsupported"
    assert third["error"]["code"] == "input.not_found"


def test_sign_without_keys_is_bad_input(
    sample_media: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "o.jpg"
    code, _, err = _run(capsys, "--data-dir", str(tmp_path / "empty"), "sign",
                        str(sample_media["jpeg"]), "-o", str(out_file))  # fmt: skip
    assert code == ExitCode.BAD_INPUT
    assert "cameoguard keys init" in err
    assert not out_file.exists()


def test_invalid_settings_are_reported(
    sample_media: dict[str, Path], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("CAMEOGUARD_MAX_PIXELS", "-5")
    code, _, err = _run(capsys, "verify", str(sample_media["png"]))
    assert code == ExitCode.BAD_INPUT
    assert "CAMEOGUARD_MAX_PIXELS" in err


def test_usage_error_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["sign", "x.jpg"])  # -o is required
    assert info.value.code == ExitCode.BAD_INPUT


def test_installed_entry_point(sample_media: dict[str, Path], tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("cameoguard")
    if not exe.exists():
        pytest.skip("the cameoguard console script is not installed in this environment")
    env = {**os.environ, "CAMEOGUARD_DATA_DIR": str(tmp_path / "d")}
    cmd = [str(exe), "verify", str(sample_media["wav"]), "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["state"] == "absent"


def test_db_upgrade_and_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "d")
    code, out, _ = _run(capsys, "--data-dir", data, "db", "status")
    assert code == ExitCode.PROBLEMS
    assert "revision none" in out
    code, out, _ = _run(capsys, "--data-dir", data, "db", "upgrade")
    assert code == ExitCode.OK
    assert "up to date" in out
    assert (tmp_path / "d" / "cameoguard.db").is_file()
    code, out, _ = _run(capsys, "--data-dir", data, "db", "upgrade")  # idempotent
    assert code == ExitCode.OK
