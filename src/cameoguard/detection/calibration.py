"""Calibration: raw detector scores -> honest probabilities -> a three-way verdict.

What flows through: a held-out split's raw fake scores and labels fit a :class:`Calibrator`
(Platt: a logistic curve on the score's logit; isotonic: a monotone step fit, with its ends
kept away from 0 and 1 so no score is ever "certain"). The calibrated probability is what a
platform sees. :func:`operating_points` then picks the two thresholds of the verdict from a
stated false-positive rate on real media: above ``manipulated`` the verdict is *likely
manipulated* (at most ``fpr`` of real held-out media got there), below ``real`` it is *likely
real* (at most ``fnr`` of fakes fell there), and between them *uncertain*.

:func:`expected_calibration_error` measures how far stated probabilities are from observed
frequencies (equal-width bins), the number the issue's ECE target refers to.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from cameoguard.errors import BadInputError

__all__ = [
    "Calibrator",
    "OperatingPoints",
    "Verdict",
    "expected_calibration_error",
    "operating_points",
]

Array = npt.NDArray[np.float64]
_EPS = 1e-6
#: calibrated probabilities never reach 0 or 1: a detector is never certain
FLOOR = 0.005


class Verdict(StrEnum):
    LIKELY_REAL = "likely_real"
    UNCERTAIN = "uncertain"
    LIKELY_MANIPULATED = "likely_manipulated"


def _arrays(scores: Any, labels: Any) -> tuple[Array, npt.NDArray[np.int64]]:
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.int64).ravel()
    if len(s) != len(y):
        raise BadInputError(f"{len(s)} scores but {len(y)} labels")
    if not np.isfinite(s).all():
        raise BadInputError("scores must be finite numbers")
    if set(np.unique(y).tolist()) != {0, 1}:
        raise BadInputError("calibration needs held-out real (0) and fake (1) examples")
    return s, y


def _logit(p: Array) -> Array:
    q = np.clip(p, _EPS, 1 - _EPS)
    out: Array = np.log(q / (1 - q))
    return out


@dataclass(frozen=True)
class Calibrator:
    """A fitted map from raw scores (in [0, 1]) to calibrated fake probabilities."""

    method: Literal["platt", "isotonic"]
    a: float = 1.0
    b: float = 0.0
    xs: tuple[float, ...] = ()
    ys: tuple[float, ...] = ()
    n: int = 0

    @classmethod
    def fit(
        cls, scores: Any, labels: Any, method: Literal["platt", "isotonic"] = "isotonic"
    ) -> Calibrator:
        s, y = _arrays(scores, labels)
        if method == "platt":
            from sklearn.linear_model import LogisticRegression

            model = LogisticRegression(C=1e4, max_iter=1000).fit(_logit(s)[:, None], y)
            return cls("platt", float(model.coef_[0, 0]), float(model.intercept_[0]), n=len(s))
        if method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            model = IsotonicRegression(y_min=FLOOR, y_max=1 - FLOOR, out_of_bounds="clip")
            model.fit(s, y)
            xs = tuple(float(v) for v in model.X_thresholds_)
            ys = tuple(float(v) for v in model.y_thresholds_)
            return cls("isotonic", xs=xs, ys=ys, n=len(s))
        raise BadInputError(f"calibration method {method!r}: use 'platt' or 'isotonic'")

    def __call__(self, scores: Any) -> Array:
        s = np.asarray(scores, dtype=np.float64)
        if self.method == "platt":
            p = 1.0 / (1.0 + np.exp(-(self.a * _logit(s) + self.b)))
        else:
            p = np.interp(s, self.xs, self.ys)
        out: Array = np.clip(p, FLOOR, 1 - FLOOR)
        return out

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "xs": list(self.xs), "ys": list(self.ys)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibrator:
        return cls(**{**data, "xs": tuple(data.get("xs", ())), "ys": tuple(data.get("ys", ()))})


@dataclass(frozen=True, slots=True)
class OperatingPoints:
    """Verdict thresholds on the calibrated probability, and where they came from."""

    real: float
    manipulated: float
    fpr: float
    fnr: float
    measured_fpr: float
    measured_tpr: float

    def verdict(self, probability: float) -> Verdict:
        if probability >= self.manipulated:
            return Verdict.LIKELY_MANIPULATED
        if probability <= self.real:
            return Verdict.LIKELY_REAL
        return Verdict.UNCERTAIN

    def to_json(self) -> dict[str, float]:
        return asdict(self)


def operating_points(
    probabilities: Any, labels: Any, *, fpr: float = 0.01, fnr: float = 0.05
) -> OperatingPoints:
    """Thresholds so that at most ``fpr`` of real and ``fnr`` of fake held-out media cross."""
    p, y = _arrays(probabilities, labels)
    if not (0 < fpr < 1 and 0 < fnr < 1):
        raise BadInputError("fpr and fnr are rates between 0 and 1")
    real, fake = np.sort(p[y == 0]), np.sort(p[y == 1])
    # smallest threshold with at most fpr of real media at or above it
    allowed = int(np.floor(fpr * len(real)))
    high = float(real[len(real) - allowed - 1]) + 1e-9 if allowed < len(real) else 0.0
    high = min(max(high, 0.5), 1.0)
    missed = int(np.floor(fnr * len(fake)))
    low = float(fake[missed]) - 1e-9 if missed < len(fake) else 1.0
    low = min(max(low, 0.0), 0.5, high)
    return OperatingPoints(
        real=low,
        manipulated=high,
        fpr=fpr,
        fnr=fnr,
        measured_fpr=float(np.mean(real >= high)),
        measured_tpr=float(np.mean(fake >= high)),
    )


def expected_calibration_error(probabilities: Any, labels: Any, bins: int = 10) -> float:
    """Sum over equal-width bins of |observed fake rate - mean probability| x bin share."""
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    if len(p) != len(y) or len(p) == 0:
        raise BadInputError("need as many probabilities as labels, at least one")
    index = np.minimum((p * bins).astype(np.int64), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += abs(float(y[mask].mean()) - float(p[mask].mean())) * float(mask.mean())
    return total
