"""Datasets for training and evaluating detectors.

Will live here (issue 6): loaders for FaceForensics++, Celeb-DF v2, DFDC, real/fake folder trees
and path,label CSVs; cached face-crop extraction; deterministic identity-disjoint splits; and a
synthetic builder of face-swapped samples from the cameo_composite backend.
"""
