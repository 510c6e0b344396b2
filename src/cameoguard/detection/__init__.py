"""Passive detection of manipulated and generated media, and the fused verdict.

Will live here (issue 6): a registry of detectors with one scikit-learn-style contract
(fit / predict_proba / save and load with a model card), calibration to honest probabilities,
video aggregation over sampled frames, and fusion of provenance, watermark, ledger, consent and
detector signals into one explained verdict.
"""
