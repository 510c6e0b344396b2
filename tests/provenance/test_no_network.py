"""Signing and verifying without a TSA open no socket, not even from native code.

A child process installs a seccomp filter that kills it with SIGSYS on the first ``socket()``
or ``socketpair()`` syscall, from Python or from c2pa's Rust code, then imports cameoguard,
signs and verifies. It must exit 0. The control case signs with a TSA URL in the same sandbox
and must be killed, which shows the filter really catches c2pa's network use.
"""

from __future__ import annotations

import platform
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cameoguard.provenance.keys import DevCAPaths
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or platform.machine() not in ("x86_64", "aarch64"),
    reason="the seccomp sandbox is written for Linux on x86_64 and aarch64",
)

SANDBOX = textwrap.dedent(
    """
    import ctypes, platform, struct, sys
    ARCH = {"x86_64": (0xC000003E, (41, 53), 317), "aarch64": (0xC00000B7, (198, 199), 277)}
    audit_arch, (nr_socket, nr_socketpair), nr_seccomp = ARCH[platform.machine()]
    LD, JEQ, RET = 0x20, 0x15, 0x06
    KILL, ALLOW = 0x80000000, 0x7FFF0000
    program = [
        (LD, 0, 0, 4), (JEQ, 1, 0, audit_arch), (RET, 0, 0, KILL),
        (LD, 0, 0, 0), (JEQ, 2, 0, nr_socket), (JEQ, 1, 0, nr_socketpair),
        (RET, 0, 0, ALLOW), (RET, 0, 0, KILL),
    ]
    raw = b"".join(struct.pack("HBBI", *ins) for ins in program)
    buf = ctypes.create_string_buffer(raw)
    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    prog = Prog(len(program), ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS
    # seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog): every thread
    if libc.syscall(nr_seccomp, 1, 1, ctypes.byref(prog)) != 0:
        sys.exit(f"seccomp failed: errno {ctypes.get_errno()}")
    """
)

WORK = textwrap.dedent(
    """
    from pathlib import Path
    from cameoguard.demo import make_sample_image
    from cameoguard.media import Limits, save_image
    from cameoguard.provenance.keys import load_credentials
    from cameoguard.provenance.manifest import ManifestSpec
    from cameoguard.provenance.report import ProvenanceState
    from cameoguard.provenance.sign import sign_file
    from cameoguard.provenance.signers import ClaimSigner
    from cameoguard.provenance.trust import TrustPolicy
    from cameoguard.provenance.verify import verify_file
    from cameoguard.settings import Settings

    tmp, chain, key, anchors, tsa, remote_only = sys.argv[1:7]
    tmp = Path(tmp)
    limits = Limits.from_settings(Settings(data_dir=tmp))
    trust = TrustPolicy.from_file(Path(anchors))
    src = tmp / "in.jpg"
    save_image(make_sample_image(320, 240), src)
    cred = load_credentials(Path(chain), Path(key))
    with ClaimSigner.from_credentials(cred, tsa_url=tsa or None) as signer:
        sign_file(src, tmp / "out.jpg", ManifestSpec.ai_generated("x", generator="g"), signer,
                  limits=limits, trust=trust)
    assert verify_file(tmp / "out.jpg", limits=limits, trust=trust).state is ProvenanceState.TRUSTED
    if remote_only:
        report = verify_file(Path(remote_only), limits=limits, trust=trust)
        assert report.integrity_failures[0].code == "manifest.inaccessible", report
    print("NO-SOCKET-OK")
    """
)


def _run(
    tmp_path: Path, dev_ca: DevCAPaths, tsa: str, remote_only: str
) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "sandboxed.py"
    script.write_text(SANDBOX + WORK)
    args = [sys.executable, str(script), str(tmp_path), str(dev_ca.signer_chain),
            str(dev_ca.signer_key), str(dev_ca.trust_anchors), tsa, remote_only]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode == 1 and "seccomp failed" in proc.stderr:
        pytest.skip(f"this kernel or container does not allow seccomp filters: {proc.stderr}")
    return proc


def test_sign_and_verify_open_no_socket(tmp_path: Path, dev_ca: DevCAPaths) -> None:
    cloud = SHARED_DATA / "c2pa" / "c2pa-rs" / "cloud.jpg"  # points at a remote manifest
    proc = _run(tmp_path, dev_ca, "", str(cloud) if cloud.is_file() else "")
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert "NO-SOCKET-OK" in proc.stdout


def test_sandbox_catches_a_tsa_request(tmp_path: Path, dev_ca: DevCAPaths) -> None:
    proc = _run(tmp_path, dev_ca, "http://127.0.0.1:9/tsa", "")
    assert proc.returncode == -signal.SIGSYS, (proc.returncode, proc.stderr[-2000:])
    assert not (tmp_path / "out.jpg").exists()
