"""Manifest-store extraction (jumbf) and signer chains (certchain) on real signed media.

Media are made here (Pillow, PyAV, wave), signed with c2pa-python under a development CA, and
read back; the shared C2PA fixtures are checked when ../shared/data/c2pa is present; hostile
inputs must end in None / [] or CorruptMediaError, quickly.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import random
import struct
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import c2pa
import cbor2
import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from PIL import Image, features

from cameoguard.errors import CorruptMediaError, FileNotFoundInputError, UnsupportedMediaError
from cameoguard.provenance.certchain import (
    CertificateSummary,
    chain_for_file,
    signature_chain,
    summarize,
)
from cameoguard.provenance.jumbf import (
    C2PA_BMFF_UUID,
    extract_manifest_store,
    extract_manifest_store_from_stream,
    find_superbox,
    iter_boxes,
    parse_superbox,
)
from cameoguard.provenance.keys import DevCAPaths, init_dev_ca, load_credentials

SHARED_C2PA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "c2pa"
DOCUMENT_SIGNING = "1.3.6.1.5.5.7.3.36"
EMAIL_PROTECTION = "1.3.6.1.5.5.7.3.4"
MANIFEST = {
    "claim_generator_info": [{"name": "test", "version": "1"}],
    "title": "x",
    "assertions": [
        {
            "label": "c2pa.actions.v2",
            "data": {
                "actions": [
                    {
                        "action": "c2pa.created",
                        "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/"
                        "trainedAlgorithmicMedia",
                    }
                ]
            },
        }
    ],
}


# --------------------------------------------------------------------------- media makers


def _noise(rng: np.random.Generator, side: int) -> Image.Image:
    return Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8))


def _video(path: Path, container: str, codec: str, rng: np.random.Generator) -> None:
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(
                rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), format="rgb24"
            )
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def _audio(path: Path, container: str, codec: str) -> None:
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=44100)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 44100), dtype=np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate = 44100
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def _wav(path: Path, rng: np.random.Generator) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(rng.integers(-1000, 1000, 8000, dtype=np.int16).tobytes())


def _has_encoder(name: str) -> bool:
    try:
        av.codec.Codec(name, "w")
    except Exception:
        return False
    return True


@dataclass(frozen=True)
class Kind:
    name: str
    ext: str
    mime: str


KINDS = [
    Kind("jpeg", "jpg", "image/jpeg"),
    Kind("png", "png", "image/png"),
    Kind("webp", "webp", "image/webp"),
    Kind("avif", "avif", "image/avif"),
    Kind("wav", "wav", "audio/wav"),
    Kind("mp4", "mp4", "video/mp4"),
    Kind("mov", "mov", "video/quicktime"),
    Kind("m4a", "m4a", "audio/mp4"),
    Kind("mp3", "mp3", "audio/mpeg"),
    Kind("avi", "avi", "video/avi"),
    Kind("tiff", "tif", "image/tiff"),
]
KIND_IDS = [k.name for k in KINDS]


def _make_source(kind: Kind, path: Path) -> None:
    rng = np.random.default_rng(7)
    if kind.name == "jpeg":  # large and noisy: the thumbnail makes the store span segments
        _noise(rng, 1024).save(path, quality=95)
    elif kind.name in ("png", "webp", "tiff"):
        _noise(rng, 64).save(path)
    elif kind.name == "avif":
        if not features.check("avif"):
            pytest.skip("this Pillow build cannot write AVIF")
        _noise(rng, 64).save(path)
    elif kind.name == "wav":
        _wav(path, rng)
    elif kind.name in ("mp4", "mov"):
        if not _has_encoder("libx264"):
            pytest.skip("PyAV has no libx264 encoder")
        _video(path, kind.name, "libx264", rng)
    elif kind.name == "avi":
        _video(path, "avi", "mpeg4", rng)
    elif kind.name == "m4a":
        if not _has_encoder("aac"):
            pytest.skip("PyAV has no AAC encoder")
        _audio(path, "mp4", "aac")
    elif kind.name == "mp3":
        if not _has_encoder("libmp3lame"):
            pytest.skip("PyAV has no MP3 encoder (libmp3lame)")
        _audio(path, "mp3", "libmp3lame")
    else:  # pragma: no cover - KINDS and this function go together
        raise AssertionError(kind)


@dataclass(frozen=True)
class Signed:
    kind: Kind
    source: Path
    path: Path
    label: str


@pytest.fixture(scope="module")
def certchain_ca(tmp_path_factory: pytest.TempPathFactory) -> DevCAPaths:
    return init_dev_ca(tmp_path_factory.mktemp("keys") / "keys")


@pytest.fixture(scope="module")
def signer(certchain_ca: DevCAPaths) -> Iterator[c2pa.Signer]:
    cred = load_credentials(certchain_ca.signer_chain, certchain_ca.signer_key)
    info = c2pa.C2paSignerInfo(cred.alg.encode(), cred.chain_pem, cred.key_pem, None)
    with c2pa.Signer.from_info(info) as s:
        yield s


def _active_label(path: Path) -> str:
    with c2pa.Reader(str(path)) as reader:
        report = json.loads(reader.json())
    return str(report["active_manifest"])


@pytest.fixture(scope="module", params=KINDS, ids=KIND_IDS)
def signed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, signer: c2pa.Signer
) -> Signed:
    kind: Kind = request.param
    folder = tmp_path_factory.mktemp(kind.name)
    source, dest = folder / f"source.{kind.ext}", folder / f"signed.{kind.ext}"
    _make_source(kind, source)
    with (
        open(source, "rb") as src,
        open(dest, "w+b") as out,
        c2pa.Builder(MANIFEST) as builder,
    ):
        builder.sign(signer, kind.mime, src, out)
    return Signed(kind, source, dest, _active_label(dest))


def _pem_chain_ders(paths: DevCAPaths) -> list[bytes]:
    return [
        c.public_bytes(serialization.Encoding.DER)
        for c in x509.load_pem_x509_certificates(paths.signer_chain.read_bytes())
    ]


# --------------------------------------------------------------------------- signed media


def test_chain_from_signed_media(signed: Signed, certchain_ca: DevCAPaths) -> None:
    store = extract_manifest_store(signed.path, signed.kind.mime)
    assert store is not None
    root = find_superbox(store, "c2pa")
    assert root is not None
    assert root.box.size == len(store)
    chain = signature_chain(store, signed.label)
    assert len(chain) == 2
    assert chain[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "cameoguard dev signer"
    )
    ders = [c.public_bytes(serialization.Encoding.DER) for c in chain]
    assert ders == _pem_chain_ders(certchain_ca)


def test_unsigned_source_has_no_store(signed: Signed) -> None:
    assert extract_manifest_store(signed.source, signed.kind.mime) is None
    assert chain_for_file(signed.source, signed.kind.mime, signed.label) == []


def test_unknown_manifest_label_gives_empty_chain(signed: Signed) -> None:
    store = extract_manifest_store(signed.path, signed.kind.mime)
    assert store is not None
    assert signature_chain(store, "urn:c2pa:00000000-0000-0000-0000-000000000000") == []


def _app11_segments(data: bytes) -> list[bytes]:
    segments, pos = [], 2
    while data[pos + 1] != 0xDA:
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if data[pos + 1] == 0xEB:
            segments.append(data[pos + 4 : pos + 2 + length])
        pos += 2 + length
    return segments


def _signed_of(kind_name: str, request: pytest.FixtureRequest) -> Signed:
    """The module's signed file of one kind, outside the parametrised ``signed`` fixture."""
    folder = request.getfixturevalue("tmp_path_factory").mktemp(f"{kind_name}-single")
    kind = next(k for k in KINDS if k.name == kind_name)
    source, dest = folder / f"source.{kind.ext}", folder / f"signed.{kind.ext}"
    _make_source(kind, source)
    s = request.getfixturevalue("signer")
    with open(source, "rb") as src, open(dest, "w+b") as out, c2pa.Builder(MANIFEST) as b:
        b.sign(s, kind.mime, src, out)
    return Signed(kind, source, dest, _active_label(dest))


@pytest.fixture(scope="module")
def signed_jpeg(request: pytest.FixtureRequest) -> Signed:
    return _signed_of("jpeg", request)


def test_jpeg_store_spanning_app11_segments_is_reassembled(signed_jpeg: Signed) -> None:
    data = signed_jpeg.path.read_bytes()
    segments = _app11_segments(data)
    assert len(segments) >= 3, "the thumbnail should push the store past one 64 KB segment"
    # continuation segments repeat CI/En/Z and the 8-byte LBox/TBox header
    expected = len(segments[0]) - 8 + sum(len(s) - 16 for s in segments[1:])
    store = extract_manifest_store(signed_jpeg.path, "image/jpeg")
    assert store is not None
    assert len(store) == expected == struct.unpack_from(">I", store)[0]
    manifest = find_superbox(store, "c2pa")
    assert manifest is not None
    labels = [parse_superbox(b).label for b in manifest.children]
    assert labels == [signed_jpeg.label]


def test_summaries_of_dev_chain(signed_jpeg: Signed, certchain_ca: DevCAPaths) -> None:
    leaf, inter = chain_for_file(signed_jpeg.path, "image/jpeg", signed_jpeg.label)
    pem = x509.load_pem_x509_certificates(certchain_ca.signer_chain.read_bytes())
    assert leaf.common_name == "cameoguard dev signer"
    assert leaf.organization == "cameoguard development"
    assert leaf.subject == "CN=cameoguard dev signer,O=cameoguard development,C=US"
    assert leaf.issuer == inter.subject
    assert leaf.key_algorithm == inter.key_algorithm == "EC P-256"
    assert (leaf.is_ca, inter.is_ca) == (False, True)
    assert set(leaf.ekus) == {EMAIL_PROTECTION, DOCUMENT_SIGNING}
    assert set(leaf.eku_names) == {"emailProtection", "documentSigning"}
    assert inter.ekus == ()
    assert leaf.serial == f"{pem[0].serial_number:x}".zfill(40)
    assert leaf.sha256 == pem[0].fingerprint(hashes.SHA256()).hex()
    assert leaf.not_before.tzinfo is not None
    assert leaf.not_before < dt.datetime.now(dt.UTC) < leaf.not_after
    assert leaf.is_valid_at(dt.datetime.now(dt.UTC))
    as_dict = leaf.as_dict()
    assert json.loads(json.dumps(as_dict))["eku_names"] == list(leaf.eku_names)


# --------------------------------------------------------------------------- shared fixtures

REAL_FIXTURES = [
    ("c2pa-rs/C.jpg", "image/jpeg"),
    ("c2pa-rs/video1.mp4", "video/mp4"),
    ("c2pa-python/sample1_signed.wav", "audio/wav"),
    ("c2pa-js/firefly_thirdparty_gemini.png", "image/png"),
    ("c2pa-python/C.dng", "image/x-adobe-dng"),
]


@pytest.mark.shared_data
@pytest.mark.parametrize(("relpath", "mime"), REAL_FIXTURES)
def test_real_fixture_chain_matches_reader(relpath: str, mime: str) -> None:
    path = SHARED_C2PA / relpath
    if not path.is_file():
        pytest.skip(f"{path} is absent (shared C2PA fixtures not checked out)")
    with c2pa.Reader(str(path)) as reader:
        report = json.loads(reader.json())
    label = report["active_manifest"]
    expected_cn = report["manifests"][label]["signature_info"]["common_name"]
    chain = chain_for_file(path, mime, label)
    assert chain, f"no chain read from {relpath}"
    assert chain[0].common_name == expected_cn
    assert not chain[0].is_ca
    assert all(c.is_ca for c in chain[1:])
    assert all(a.issuer == b.subject for a, b in itertools.pairwise(chain))


@pytest.mark.shared_data
def test_real_fixture_without_manifest() -> None:
    path = SHARED_C2PA / "c2pa-rs" / "no_manifest.jpg"
    if not path.is_file():
        pytest.skip(f"{path} is absent (shared C2PA fixtures not checked out)")
    assert extract_manifest_store(path, "image/jpeg") is None


# --------------------------------------------------------------------------- JUMBF helpers


def _box(tbox: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), tbox) + payload


def _superbox(label: str, *children: bytes) -> bytes:
    jumd = _box(b"jumd", b"\x00" * 16 + b"\x03" + label.encode() + b"\x00")
    return _box(b"jumb", jumd + b"".join(children))


def _store_with_cose(cose: bytes, label: str = "urn:c2pa:test") -> bytes:
    signature = _superbox("c2pa.signature", _box(b"cbor", cose))
    return _superbox("c2pa", _superbox(label, _superbox("c2pa.claim"), signature))


def _self_signed(
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0xABC)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
    )
    alg = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, alg)


@pytest.fixture(scope="module")
def ec_cert() -> x509.Certificate:
    return _self_signed(ec.generate_private_key(ec.SECP384R1()))


def test_iter_boxes_and_superbox() -> None:
    data = _superbox("c2pa", _box(b"cbor", b"\xa0")) + _box(b"free", b"")
    boxes = list(iter_boxes(data))
    assert [b.type for b in boxes] == ["jumb", "free"]
    sb = parse_superbox(boxes[0])
    assert sb.label == "c2pa"
    cbor_box = sb.first("cbor")
    assert cbor_box is not None
    assert cbor_box.payload == b"\xa0"
    assert sb.child("nothing") is None
    # XLBox form
    xl = struct.pack(">I4sQ", 1, b"free", 16 + 3) + b"abc"
    assert next(iter_boxes(xl)).payload == b"abc"


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x00\x00",  # header cut short
        struct.pack(">I4s", 4, b"jumb"),  # LBox smaller than its header
        struct.pack(">I4s", 0xFFFFFFF0, b"jumb") + b"x" * 10,  # LBox past the end
        struct.pack(">I4sQ", 1, b"jumb", 2**63),  # huge XLBox
        struct.pack(">I4s", 1, b"jumb"),  # XLBox announced, missing
    ],
)
@pytest.mark.timeout(5)
def test_iter_boxes_rejects_lying_lengths(data: bytes) -> None:
    with pytest.raises(CorruptMediaError):
        list(iter_boxes(data))


def test_parse_superbox_rejects_missing_description() -> None:
    with pytest.raises(CorruptMediaError, match="description box"):
        parse_superbox(next(iter_boxes(_box(b"jumb", _box(b"cbor", b"")))))
    unterminated = _box(b"jumb", _box(b"jumd", b"\x00" * 16 + b"\x03c2pa"))
    with pytest.raises(CorruptMediaError, match="NUL"):
        parse_superbox(next(iter_boxes(unterminated)))


def test_x5chain_in_unprotected_header_and_as_single_bstr(ec_cert: x509.Certificate) -> None:
    der = ec_cert.public_bytes(serialization.Encoding.DER)
    cose = cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -7}), {33: der}, None, b"sig"]))
    chain = signature_chain(_store_with_cose(cose), "urn:c2pa:test")
    assert [c.public_bytes(serialization.Encoding.DER) for c in chain] == [der]
    legacy = cbor2.dumps(cbor2.CBORTag(18, [b"", {"x5chain": [der, der]}, None, b"sig"]))
    assert len(signature_chain(_store_with_cose(legacy), "urn:c2pa:test")) == 2
    none = cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -7}), {}, None, b"sig"]))
    assert signature_chain(_store_with_cose(none), "urn:c2pa:test") == []


@pytest.mark.parametrize(
    "cose",
    [
        b"\xff\xff",  # not CBOR
        cbor2.dumps(cbor2.CBORTag(17, [b"", {}, None, b""])),  # COSE_Mac0, not Sign1
        cbor2.dumps(cbor2.CBORTag(18, [b"", {}])),  # too short
        cbor2.dumps(cbor2.CBORTag(18, [b"\xff", {}, None, b""])),  # protected not CBOR
        cbor2.dumps(cbor2.CBORTag(18, [b"", {33: 5}, None, b""])),  # x5chain wrong type
        cbor2.dumps(cbor2.CBORTag(18, [b"", {33: b"not der"}, None, b""])),  # bad certificate
        b"\x81" * 10_000,  # deep nesting
    ],
)
@pytest.mark.timeout(5)
def test_malformed_cose_is_corrupt(cose: bytes) -> None:
    with pytest.raises(CorruptMediaError):
        signature_chain(_store_with_cose(cose), "urn:c2pa:test")


# --------------------------------------------------------------------------- summaries


def test_summarize_key_algorithms(ec_cert: x509.Certificate) -> None:
    assert summarize(ec_cert).key_algorithm == "EC P-384"
    rsa_cert = _self_signed(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    ed_cert = _self_signed(ed25519.Ed25519PrivateKey.generate())
    assert summarize(rsa_cert).key_algorithm == "RSA 2048"
    summary = summarize(ed_cert)
    assert isinstance(summary, CertificateSummary)
    assert summary.key_algorithm == "Ed25519"
    assert summary.serial == "0abc"
    assert (summary.is_ca, summary.ekus, summary.organization) == (False, (), None)


# --------------------------------------------------------------------------- hostile input


def _outcome(data: bytes, mime: str, label: str = "urn:c2pa:x") -> str:
    """'none', 'store' or 'corrupt'; anything else (another exception, a hang) fails."""
    try:
        store = extract_manifest_store_from_stream(io.BytesIO(data), mime)
        if store is None:
            return "none"
        for cert in signature_chain(store, label):
            summarize(cert)
    except CorruptMediaError:
        return "corrupt"
    return "store"


@pytest.mark.timeout(60)
def test_truncated_and_bitflipped_signed_media(signed: Signed) -> None:
    data = signed.path.read_bytes()
    mime, label = signed.kind.mime, signed.label
    rng = random.Random(1)
    cuts = sorted({rng.randrange(len(data)) for _ in range(40)} | {0, 1, 7, 12, 20, 64})
    for cut in cuts:
        _outcome(data[:cut], mime, label)
    # the store region is where the parsers work hardest: flip bytes there
    store = extract_manifest_store(signed.path, mime)
    assert store is not None
    start = data.find(store[:64])
    if start < 0:  # JPEG: the store is split across segments
        start = data.find(store[:32])
    assert start >= 0
    span = range(max(0, start - 64), min(len(data), start + 4096))
    for _ in range(150):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.choice(span)] = rng.randrange(256)
        _outcome(bytes(mutated), mime, label)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_random_bytes(kind: Kind) -> None:
    rng = random.Random(2)
    for size in (0, 1, 3, 10, 100, 5000):
        for _ in range(5):
            outcome = _outcome(rng.randbytes(size), kind.mime)
            assert outcome in ("none", "corrupt")


def _jpeg_app11(payload: bytes) -> bytes:
    return b"\xff\xeb" + struct.pack(">H", len(payload) + 2) + payload


@pytest.mark.timeout(5)
def test_jpeg_app11_lying_lengths(tmp_path: Path) -> None:
    store = _superbox("c2pa", _superbox("urn:c2pa:x"))
    # the JUMBF box claims 10 MB, but one small segment is all there is
    lying = struct.pack(">I4s", 10_000_000, b"jumb") + store[8:]
    jpeg = b"\xff\xd8" + _jpeg_app11(b"JP\x02\x11\x00\x00\x00\x01" + lying) + b"\xff\xd9"
    with pytest.raises(CorruptMediaError, match="declares 10000000 bytes"):
        extract_manifest_store_from_stream(io.BytesIO(jpeg), "image/jpeg")
    # the APP11 segment length runs past the end of the file
    cut = b"\xff\xd8\xff\xeb\xff\xf0JP\x02\x11\x00\x00\x00\x01" + store
    with pytest.raises(CorruptMediaError, match="truncated"):
        extract_manifest_store_from_stream(io.BytesIO(cut), "image/jpeg")
    # a sequence gap
    first = b"JP\x02\x11\x00\x00\x00\x01" + struct.pack(">I4s", len(store) + 100, b"jumb")
    third = b"JP\x02\x11\x00\x00\x00\x03" + struct.pack(">I4s", len(store) + 100, b"jumb")
    gap = b"\xff\xd8" + _jpeg_app11(first + store[8:]) + _jpeg_app11(third + b"x" * 100)
    with pytest.raises(CorruptMediaError, match="missing segment 2"):
        extract_manifest_store_from_stream(io.BytesIO(gap), "image/jpeg")
    # a well-formed single-segment store reads back, and chain_for_file copes with the rest
    ok = b"\xff\xd8" + _jpeg_app11(b"JP\x02\x11\x00\x00\x00\x01" + store) + b"\xff\xd9"
    assert extract_manifest_store_from_stream(io.BytesIO(ok), "image/jpeg") == store
    (tmp_path / "lying.jpg").write_bytes(jpeg)
    assert chain_for_file(tmp_path / "lying.jpg", "image/jpeg", "urn:c2pa:x") == []


@pytest.mark.timeout(5)
def test_bmff_uuid_box_with_huge_length() -> None:
    ftyp = struct.pack(">I4s4sI4s", 20, b"ftyp", b"isom", 0, b"isom")
    huge = struct.pack(">I4s", 0xFFFFFFF0, b"uuid") + C2PA_BMFF_UUID + b"\x00" * 32
    with pytest.raises(CorruptMediaError, match="declares"):
        extract_manifest_store_from_stream(io.BytesIO(ftyp + huge), "video/mp4")
    largesize = struct.pack(">I4sQ", 1, b"uuid", 2**62) + C2PA_BMFF_UUID + b"\x00" * 32
    with pytest.raises(CorruptMediaError, match="declares"):
        extract_manifest_store_from_stream(io.BytesIO(ftyp + largesize), "video/mp4")
    body = C2PA_BMFF_UUID + b"\x00" * 4 + b"manifest\x00" + b"\x00" * 8 + b"garbage!"
    wrong = struct.pack(">I4s", 8 + len(body), b"uuid") + body
    with pytest.raises(CorruptMediaError):
        extract_manifest_store_from_stream(io.BytesIO(ftyp + wrong), "video/mp4")


@pytest.mark.timeout(5)
def test_png_riff_mp3_lying_lengths() -> None:
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I4s", 0x7FFFFFFF, b"caBX") + b"\x00" * 16
    with pytest.raises(CorruptMediaError, match="caBX"):
        extract_manifest_store_from_stream(io.BytesIO(png), "image/png")
    riff = b"RIFF" + struct.pack("<I", 100) + b"WAVE" + b"C2PA" + struct.pack("<I", 2**32 - 1)
    with pytest.raises(CorruptMediaError, match="C2PA"):
        extract_manifest_store_from_stream(io.BytesIO(riff), "audio/wav")
    id3 = b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + b"\x00" * 20  # tag claims 256 MB
    with pytest.raises(CorruptMediaError):
        extract_manifest_store_from_stream(io.BytesIO(id3), "audio/mpeg")
    frame = b"GEOB" + bytes([0, 0, 0x7F, 0x7F]) + b"\x00\x00" + b"x" * 20
    tag = b"ID3\x04\x00\x00" + bytes([0, 0, 0, len(frame)]) + frame
    with pytest.raises(CorruptMediaError, match="GEOB"):
        extract_manifest_store_from_stream(io.BytesIO(tag), "audio/mpeg")
    assert extract_manifest_store_from_stream(io.BytesIO(b"\xff\xfb" * 100), "audio/mpeg") is None


def test_mp3_geob_utf16_strings() -> None:
    store = _superbox("c2pa", _superbox("urn:c2pa:x"))
    name = "c2pa".encode("utf-16") + b"\x00\x00"
    body = b"\x01application/c2pa\x00" + name + name + store
    frame = b"GEOB" + len(body).to_bytes(4, "big") + b"\x00\x00" + body  # ID3v2.3: plain size
    tag = b"ID3\x03\x00\x00" + bytes([0, 0, len(frame) >> 7, len(frame) & 0x7F]) + frame
    assert extract_manifest_store_from_stream(io.BytesIO(tag), "audio/mpeg") == store


def test_wrong_type_missing_file_and_unsupported_mime(signed_jpeg: Signed, tmp_path: Path) -> None:
    with pytest.raises(CorruptMediaError, match="PNG signature"):
        extract_manifest_store(signed_jpeg.path, "image/png")
    with pytest.raises(UnsupportedMediaError, match="supported: "):
        extract_manifest_store(signed_jpeg.path, "text/plain")
    with pytest.raises(FileNotFoundInputError):
        extract_manifest_store(tmp_path / "absent.jpg", "image/jpeg")
    assert extract_manifest_store(signed_jpeg.path, "IMAGE/JPEG; q=1") is not None
    for path, mime in (
        (signed_jpeg.path, "text/plain"),
        (signed_jpeg.path, "image/png"),
        (tmp_path / "absent.jpg", "image/jpeg"),
        (tmp_path, "image/jpeg"),
    ):
        assert chain_for_file(path, mime, signed_jpeg.label) == []
