"""Passive detection: detectors behind one contract (base), model cards, and the baselines.

So far: the detector contract and registry (:mod:`.base`), model cards (:mod:`.card`) and the
MesoNet baseline with its published weights (:mod:`.mesonet`). Still to come (issue 6): the
spectral and face-CNN detectors, calibration, video aggregation and the fused verdict.
"""
