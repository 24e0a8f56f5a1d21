"""Which calibration scores a model's answers: the one fitted for that model, else a conservative default.

A calibration belongs to the model whose answers it was fitted on (rag.models.identity: a GGUF by its sha256,
a model server's model by its id). `rag eval calibrate` writes one per model under <cache>/calibrations/, found
again by the model's identity; the package ships the one of the default model. A model with neither gets the
default below, and a warning, once per process, that its confidence is uncalibrated.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from rag.answer.confidence import Calibration
from rag.models.identity import ModelIdentity

log = logging.getLogger(__name__)

# The conservative default for a model without its own calibration: the shipped model's weights over the
# signals that do not depend on the model (quotes, coverage, support, retrieval); the model's log-probabilities
# left out, since each model has its own scale for them; and a higher threshold than the fitted 0.21. On the
# shipped model's held-out answers, 0.30 declines about 85% of what should be declined while keeping about 85% of
# the right answers (eval/calibration/calibration.md), against 79% and 90% at the fitted threshold: it errs
# towards "I cannot find the answer" until `rag eval calibrate` fits the model.
MODEL_FEATURES = ("answer_logprob", "answer_median_logprob", "quote_logprob")
DEFAULT_THRESHOLD = 0.30
_warned: set[str] = set()


@dataclass(frozen=True)
class Chosen:
    """The calibration for a model, and whether it was fitted for that model."""

    calibration: Calibration
    calibrated: bool
    source: str  # the file, "shipped", "given" or "default"


@lru_cache(maxsize=1)
def shipped() -> Calibration:
    return Calibration.load()


def path_for(cache_dir: str | Path, identity: ModelIdentity) -> Path:
    """Where `rag eval calibrate` keeps the calibration of this model."""
    slug = re.sub(r"[^\w.-]+", "_", identity.name).strip("._")[:60] or "model"
    digest = hashlib.sha256(identity.key.encode("utf-8")).hexdigest()[:12]
    return Path(cache_dir) / "calibrations" / f"{slug}-{digest}.json"


def fits(calibration: Calibration, identity: ModelIdentity) -> bool:
    """Whether the calibration was fitted on this model's answers: the same GGUF digest when both record one,
    else the same name (a model server's model id)."""
    if calibration.model_sha256 and identity.sha256:
        return calibration.model_sha256 == identity.sha256
    return bool(calibration.model) and calibration.model == identity.name


def conservative(base: Calibration) -> Calibration:
    """The default for a model without a calibration of its own (see DEFAULT_THRESHOLD)."""
    weights = tuple(0.0 if f in MODEL_FEATURES else w for f, w in zip(base.features, base.weights))
    return replace(base, weights=weights, threshold=max(base.threshold, DEFAULT_THRESHOLD), model="",
                   model_sha256="", fitted_on=f"conservative default from {base.model or 'the shipped calibration'}: "
                                              "the model's log-probabilities left out, a higher threshold")


def choose(identity: ModelIdentity, cache_dir: str | Path, explicit: str = "") -> Chosen:
    """The file named by the calibration setting; else this model's own; else the shipped one if it is this
    model's; else the conservative default (with a warning, once per model and process)."""
    if explicit:
        calibration = Calibration.load(explicit)
        fitted = fits(calibration, identity) or not (calibration.model or calibration.model_sha256)
        if not fitted:
            _warn(identity, f"the calibration file {explicit} was fitted for {calibration.model}, not for it")
        return Chosen(calibration, fitted, explicit)
    own = path_for(cache_dir, identity)
    if own.is_file():
        return Chosen(Calibration.load(own), True, str(own))
    if fits(shipped(), identity):
        return Chosen(shipped(), True, "shipped")
    _warn(identity, f"no calibration was fitted for it; using the conservative default (threshold "
                    f"{DEFAULT_THRESHOLD}, its log-probabilities left out)")
    return Chosen(conservative(shipped()), False, "default")


def _warn(identity: ModelIdentity, why: str) -> None:
    if identity.key in _warned:
        return
    _warned.add(identity.key)
    log.warning("The confidence of answers by %s is uncalibrated: %s. Fit one with `rag eval --model ... --out "
                "RUN` then `rag eval calibrate RUN` (it is picked up for this model from then on).", identity.name, why)
