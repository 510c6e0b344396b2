"""Provenance benchmark: cameoguard's sign and verify beside raw c2pa-python, in one run.

    .venv/bin/python benchmarks/provenance.py [--repeats N] [--quick] [--regenerate]

Media (rendered here once, cached in ``benchmarks/results/media/``): a ~1 MB 1920x1080 JPEG
and a 10 s 1280x720 25 fps H.264+AAC MP4 (~6 MB). Keys: a fresh development CA per run.
Scratch files go to a temporary folder under ``benchmarks/results/``, on the repository's disk.

Timed with ``time.perf_counter``, one warm-up then N repeats (20 for the JPEG, 10 for the MP4),
the raw and cameoguard calls interleaved, their order alternating, ``os.sync()`` (untimed)
before each call:

* raw sign: ``c2pa.Context`` from the same :class:`TrustPolicy`, ``c2pa.Builder`` over the same
  manifest definition (``ManifestSpec.to_definition``), ``Builder.sign`` with the same native
  signer from the source file into a destination file;
* cameoguard sign: :func:`sign_file` (probe, history check, build, sign into a temporary file,
  fsync, rename);
* raw verify: the same context, ``c2pa.Reader`` + ``.json()`` + ``.get_validation_state()``;
* cameoguard verify: :func:`verify_file` (byte limit + sniff, Reader, JSON, chain, report).

Then the parts of cameoguard's extra work are timed: probe, history check, JSON parsing and
chain extraction alone; the atomic publish in place (``sign_file`` less ``sign_file`` with
``atomic_output`` swapped for a plain write); report building and bookkeeping are the rest. So
an overhead over the 10 % budget points at what to optimise. Prints two tables and writes
``benchmarks/results/provenance.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from unittest import mock

import c2pa
import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

import _machine
from cameoguard.demo import make_sample_image, make_sample_video_frames, make_tone
from cameoguard.fsutil import atomic_output
from cameoguard.media import Limits, probe, save_image, sniff, write_video
from cameoguard.media._isobmff import read_facts
from cameoguard.media.probe import _jpeg_is_complete, check_file_size
from cameoguard.provenance import sign as sign_module
from cameoguard.provenance.certchain import chain_for_file
from cameoguard.provenance.keys import init_dev_ca, load_credentials
from cameoguard.provenance.manifest import ManifestSpec
from cameoguard.provenance.sign import _has_manifest, sign_file
from cameoguard.provenance.signers import ClaimSigner
from cameoguard.provenance.trust import TrustPolicy
from cameoguard.provenance.verify import verify_file
from cameoguard.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
BUDGET_PCT = 10.0
MEDIA_VERSION = "v2"  # bump when the rendered media change, so stale caches are not reused
REST = "rest (overhead less the parts above)"

Op = Callable[[], object]


@dataclass(frozen=True)
class Case:
    """One media file to sign and verify."""

    name: str
    path: Path
    repeats: int

    @property
    def mime(self) -> str:
        return "image/jpeg" if self.path.suffix == ".jpg" else "video/mp4"


@dataclass(frozen=True)
class Bench:
    """What both sides share: signer, trust policy, limits, manifest and a scratch folder."""

    signer: ClaimSigner
    trust: TrustPolicy
    limits: Limits
    spec: ManifestSpec
    work: Path


# --- media ----------------------------------------------------------------------------------


def make_jpeg(path: Path) -> Path:
    """1920x1080 sample picture with film grain, quality 95: about 1 MB."""
    rgb = make_sample_image(1920, 1080).astype(np.float32)
    rgb += np.random.default_rng(1).normal(0.0, 10.0, rgb.shape)
    return save_image(np.clip(rgb, 0, 255).astype(np.uint8), path, quality=95)


def make_mp4(path: Path, seconds: int = 10, fps: int = 25) -> Path:
    """10 s of 1280x720 25 fps H.264 (x264 crf 20) + stereo AAC: about 6 MB, 4.7 Mbit/s.

    The demo's bouncing ball alone encodes to under 1 MB; fresh grain in every frame brings
    the bitrate up to what a 720p camera or generator writes.
    """
    rng = np.random.default_rng(2)

    def grainy() -> Iterator[npt.NDArray[np.uint8]]:
        for frame in make_sample_video_frames(seconds * fps, 1280, 720):
            noisy = frame + rng.normal(0.0, 4.0, frame.shape).astype(np.float32)
            yield np.clip(noisy, 0, 255).astype(np.uint8)

    return write_video(path, grainy(), fps=fps, audio=make_tone(seconds))


def ensure_media(media_dir: Path, regenerate: bool, console: Console) -> tuple[Path, Path]:
    jpeg = media_dir / f"bench-1920x1080-{MEDIA_VERSION}.jpg"
    mp4 = media_dir / f"bench-10s-720p-{MEDIA_VERSION}.mp4"
    for path, make in ((jpeg, make_jpeg), (mp4, make_mp4)):
        if regenerate or not path.is_file():
            start = time.perf_counter()
            make(path)
            console.print(f"rendered {path} in {time.perf_counter() - start:.1f} s")
    return jpeg, mp4


def media_facts(path: Path, limits: Limits) -> dict[str, Any]:
    info = probe(path, limits)
    facts = {"file": path.name, "mime": info.type.mime, "bytes": info.size_bytes,
             "width": info.width, "height": info.height}  # fmt: skip
    if info.duration_s is not None:
        facts |= {"duration_s": round(info.duration_s, 3), "fps": info.fps,
                  "video_codec": info.video_codec, "audio_codec": info.audio_codec}  # fmt: skip
    return facts


# --- environment ----------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    return {
        **_machine.machine_info(),
        "c2pa_python": metadata.version("c2pa-python"),
        "c2pa_rs": c2pa.sdk_version(),
        "cameoguard": metadata.version("cameoguard"),
    }


# --- timing ---------------------------------------------------------------------------------


def measure(ops: dict[str, Op], repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Milliseconds per call of each op; the ops run interleaved, their order rotating.

    Dirty pages are flushed (``os.sync``) before each timed call, untimed: otherwise one op's
    fsync would also wait for the data the op before it left in the page cache.
    """
    names = list(ops)
    for _ in range(warmup):
        for name in names:
            ops[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i in range(repeats):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            os.sync()
            start = time.perf_counter()
            ops[name]()
            samples[name].append((time.perf_counter() - start) * 1000.0)
    return samples


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-9 * len(ordered) // 10) - 1)]  # nearest rank


def summarize(values: list[float]) -> dict[str, Any]:
    return {"median_ms": round(statistics.median(values), 3), "p90_ms": round(p90(values), 3),
            "min_ms": round(min(values), 3),
            "samples_ms": [round(v, 3) for v in values]}  # fmt: skip


def overhead_pct(ours: float, raw: float) -> float:
    return (ours - raw) / raw * 100.0


# --- the operations -------------------------------------------------------------------------


def raw_sign(bench: Bench, case: Case, dest: Path, *, thumbnail: bool = True) -> Op:
    definition = bench.spec.to_definition(case.mime)
    settings = bench.trust.settings_dict()
    if not thumbnail:
        settings["builder"] = {"thumbnail": {"enabled": False}}

    def run() -> bytes:
        with (
            c2pa.Context.from_dict(settings) as ctx,
            c2pa.Builder(definition, context=ctx) as builder,
            open(case.path, "rb") as src,
            open(dest, "w+b") as dst,
        ):
            return builder.sign(bench.signer.native, case.mime, src, dst)

    return run


def ours_sign(bench: Bench, case: Case, dest: Path) -> Op:
    return lambda: sign_file(case.path, dest, bench.spec, bench.signer,
                             limits=bench.limits, trust=bench.trust)  # fmt: skip


def read_manifest(bench: Bench, mime: str, signed: Path) -> tuple[str, str]:
    """Raw c2pa verification: the manifest store as JSON and the validation state."""
    with (
        bench.trust.context() as ctx,
        open(signed, "rb") as fh,
        c2pa.Reader(mime, fh, context=ctx) as reader,
    ):
        return reader.json(), reader.get_validation_state()


def raw_verify(bench: Bench, case: Case, signed: Path) -> Op:
    return lambda: read_manifest(bench, case.mime, signed)


def ours_verify(bench: Bench, case: Case, signed: Path) -> Op:
    return lambda: verify_file(signed, limits=bench.limits, trust=bench.trust)


@dataclass(frozen=True)
class Parts:
    """cameoguard's work beyond raw c2pa for one op, each piece to be timed alone.

    ``parts`` add up to the overhead (the remainder is reported as the rest). ``details`` are
    pieces inside a part, or alternatives to one: shown, never summed. An entry with a
    ``baselines`` op of the same name costs its time less the baseline's (an atomic publish
    less a plain write).
    """

    parts: dict[str, Op]
    details: dict[str, Op] = field(default_factory=dict)
    baselines: dict[str, Op] = field(default_factory=dict)


def probe_detail(case: Case, path: Path, *, check_structure: bool = True) -> dict[str, Op]:
    """What dominates the probe: FFmpeg opening the container, or the JPEG marker walk."""
    if case.mime == "video/mp4":
        size = path.stat().st_size
        return {"  in probe: moov header read (FFmpeg no longer opened)":
                lambda: read_facts(path, size)}  # fmt: skip
    if check_structure:
        return {"  in probe: JPEG marker walk to EOI": lambda: _jpeg_is_complete(path)}
    return {}


@contextlib.contextmanager
def _write_in_place(destination: Path) -> Iterator[Path]:
    """Stand-in for ``atomic_output``: write straight to the destination, no fsync, no rename."""
    yield Path(destination)


def ours_sign_in_place(bench: Bench, case: Case, dest: Path) -> Op:
    """``sign_file`` with its atomic publish ablated, to price that publish in place."""

    def run() -> object:
        with mock.patch.object(sign_module, "atomic_output", _write_in_place):
            return ours_sign(bench, case, dest)()

    return run


def sign_and_publish(bench: Bench, case: Case, dest: Path, buffering: int = -1) -> Op:
    """The build, sign and atomic publish of ``sign_file``, with a chosen write buffer."""
    definition = bench.spec.to_definition(case.mime)

    def run() -> None:
        with (
            bench.trust.context() as ctx,
            c2pa.Builder(definition, context=ctx) as builder,
            atomic_output(dest) as tmp,
            open(case.path, "rb") as src,
            open(tmp, "w+b", buffering=buffering) as out,
        ):
            builder.sign(bench.signer.native, case.mime, src, out)

    return run


def sign_parts(bench: Bench, case: Case) -> Parts:
    """Probe, history check (JUMBF scan) and atomic publish (mkstemp, fsync, rename).

    The publish is priced in place (``sign_file`` less ``sign_file`` writing in place). Details:
    what the probe spends, and (for scale) what c2pa's own thumbnail costs raw sign.
    """

    def history_check() -> bool:
        with bench.trust.context() as ctx:
            return _has_manifest(case.path, case.mime, ctx)

    publish = "atomic publish (mkstemp, fsync, rename)"
    thumbnail = "  for scale: c2pa thumbnail"
    out = bench.work / f"parts-{case.path.name}"
    return Parts(
        parts={"probe (limits, type, truncation)": lambda: probe(case.path, bench.limits),
               "history check (JUMBF scan)": history_check,
               publish: ours_sign(bench, case, out.with_stem("publish"))},
        details=probe_detail(case, case.path) | {
            thumbnail: raw_sign(bench, case, out.with_stem("thumbnail"))},
        baselines={
            publish: ours_sign_in_place(bench, case, out.with_stem("in-place")),
            thumbnail: raw_sign(bench, case, out.with_stem("no-thumbnail"), thumbnail=False)},
    )  # fmt: skip


def verify_parts(bench: Bench, case: Case, signed: Path) -> Parts:
    """Byte limit and content sniffing (as ``verify_file`` does), JSON parse, certificate chain."""
    text, _ = read_manifest(bench, case.mime, signed)
    label = json.loads(text)["active_manifest"]

    def size_and_type() -> object:
        check_file_size(signed, bench.limits)
        return sniff(signed)

    return Parts(
        parts={"byte limit + sniff": size_and_type,
               "JSON parse": lambda: json.loads(text),
               "certificate chain": lambda: chain_for_file(signed, case.mime, label)},
        details={},
    )  # fmt: skip


def breakdown(parts: Parts, repeats: int, extra_ms: float) -> dict[str, dict[str, float]]:
    """Median ms of each part and detail, and the rest of ``extra_ms`` (report building etc.)."""
    baselines = {f"baseline: {k}": op for k, op in parts.baselines.items()}
    samples = measure(parts.parts | parts.details | baselines, repeats)
    medians = {k: statistics.median(v) for k, v in samples.items()}

    def cost(name: str) -> float:
        return round(medians[name] - medians.get(f"baseline: {name}", 0.0), 3)

    costs = {k: cost(k) for k in parts.parts}
    costs[REST] = round(extra_ms - sum(costs.values()), 3)
    return {"parts": costs, "details": {k.strip(): cost(k) for k in parts.details}}


# --- one case -------------------------------------------------------------------------------


def bench_case(bench: Bench, case: Case) -> dict[str, Any]:
    raw_out = bench.work / f"raw-{case.path.name}"
    ours_out = bench.work / f"ours-{case.path.name}"
    sign = measure({"raw": raw_sign(bench, case, raw_out),
                    "cameoguard": ours_sign(bench, case, ours_out)}, case.repeats)  # fmt: skip
    verify = measure({"raw": raw_verify(bench, case, ours_out),
                      "cameoguard": ours_verify(bench, case, ours_out)}, case.repeats)  # fmt: skip
    report = verify_file(ours_out, limits=bench.limits, trust=bench.trust)
    result: dict[str, Any] = {"repeats": case.repeats, "signed_bytes": ours_out.stat().st_size,
                              "verified_state": report.state.value}  # fmt: skip
    for op, samples, parts in (
        ("sign", sign, sign_parts(bench, case)),
        ("verify", verify, verify_parts(bench, case, ours_out)),
    ):
        raw, ours = summarize(samples["raw"]), summarize(samples["cameoguard"])
        result[op] = {
            "raw": raw,
            "cameoguard": ours,
            "overhead_pct": round(overhead_pct(ours["median_ms"], raw["median_ms"]), 2),
            "overhead_p90_pct": round(overhead_pct(ours["p90_ms"], raw["p90_ms"]), 2),
            **breakdown(parts, case.repeats, ours["median_ms"] - raw["median_ms"]),
        }
    return result


# --- output ---------------------------------------------------------------------------------


def results_table(results: dict[str, Any]) -> Table:
    table = Table(title="cameoguard vs raw c2pa-python (median / p90, ms)")
    for column in ("media", "op", "raw c2pa", "cameoguard", "overhead", "budget"):
        table.add_column(column, justify="left" if column in ("media", "op") else "right")
    for name, case in results["cases"].items():
        for op in ("sign", "verify"):
            r = case[op]
            pct = r["overhead_pct"]
            ok = "[green]ok[/green]" if pct <= BUDGET_PCT else "[red]over[/red]"
            table.add_row(name, op, _ms(r["raw"]), _ms(r["cameoguard"]), f"{pct:+.1f} %", ok)
    return table


def parts_table(results: dict[str, Any]) -> Table:
    table = Table(title="where cameoguard's extra time goes (median ms)")
    for column in ("media", "op", "part", "ms", "% of raw"):
        table.add_column(column, justify="right" if column in ("ms", "% of raw") else "left")
    for name, case in results["cases"].items():
        for op in ("sign", "verify"):
            raw = case[op]["raw"]["median_ms"]
            for part, ms in case[op]["parts"].items():
                table.add_row(name, op, part, f"{ms:.2f}", f"{ms / raw * 100:+.1f} %")
            for part, ms in case[op]["details"].items():
                table.add_row(name, op, f"[dim]  {part} (not summed)[/dim]", f"[dim]{ms:.2f}[/dim]",
                              f"[dim]{ms / raw * 100:+.1f} %[/dim]")  # fmt: skip
        table.add_section()
    return table


def describe_media(facts: dict[str, Any]) -> str:
    text = f"{facts['file']}, {facts['bytes']:,} bytes, {facts['width']}x{facts['height']}"
    if "duration_s" in facts:
        text += (f", {facts['duration_s']} s at {facts['fps']} fps, {facts['video_codec']} + "
                 f"{facts['audio_codec']}")  # fmt: skip
    return text


def _ms(stats: dict[str, Any]) -> str:
    return f"{stats['median_ms']:.1f} / {stats['p90_ms']:.1f}"


def print_report(console: Console, results: dict[str, Any]) -> None:
    m = results["machine"]
    console.print(
        f"{m['cpu']}, {m['cores']} cores; Python {m['python']}; c2pa-python {m['c2pa_python']}"
        f" (c2pa-rs {m['c2pa_rs']}); cameoguard {m['cameoguard']}"
    )
    for name, facts in results["media"].items():
        console.print(f"{name}: {describe_media(facts)}")
    console.print(results_table(results))
    console.print(parts_table(results))


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, help="timed runs per op (default 20 JPEG, 10 MP4)")
    parser.add_argument("--quick", action="store_true", help="3 repeats each: a smoke run")
    parser.add_argument("--regenerate", action="store_true", help="render the media again")
    parser.add_argument("--media-dir", type=Path, default=RESULTS / "media")
    parser.add_argument("--json", type=Path, default=RESULTS / "provenance.json")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(highlight=False)
    jpeg_n, mp4_n = (3, 3) if args.quick else (20, 10)
    if args.repeats:
        jpeg_n = mp4_n = args.repeats
    jpeg, mp4 = ensure_media(args.media_dir, args.regenerate, console)
    cases = [Case("1 MB JPEG", jpeg, jpeg_n), Case("10 s 720p MP4", mp4, mp4_n)]
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=RESULTS, prefix="provenance-") as tmp:
        work = Path(tmp)  # on the same disk as the repository, so fsync costs what it costs
        keys = init_dev_ca(work / "keys")
        limits = Limits.from_settings(Settings(data_dir=work))
        spec = ManifestSpec.ai_generated("benchmark", generator="bench", generator_version="1")
        credentials = load_credentials(keys.signer_chain, keys.signer_key)
        with ClaimSigner.from_credentials(credentials) as signer:
            bench = Bench(signer, TrustPolicy.from_file(keys.trust_anchors), limits, spec, work)
            media = {c.name: media_facts(c.path, limits) for c in cases}
            measured = {}
            for case in cases:
                console.print(f"timing {case.name} ({case.repeats} repeats) ...")
                measured[case.name] = bench_case(bench, case)
    results = {"machine": machine_info(), "budget_pct": BUDGET_PCT, "media": media,
               "cases": measured}  # fmt: skip
    print_report(console, results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
