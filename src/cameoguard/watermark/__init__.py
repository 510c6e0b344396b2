"""Invisible watermarks: the soft binding that survives re-encoding.

Will live here (issue 3): a payload codec (generation id + error detection/correction, keyed per
deployment) and a registry of embedding schemes for images, video and audio, each able to embed
a payload and to detect it with a confidence. Absence of a watermark is a result, not an error.
"""
