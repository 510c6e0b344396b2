"""cameoguard: consent-first AI media.

Three rooms, one house:

* generation that can only emit watermarked, C2PA-signed, ledgered media
  (:mod:`cameoguard.generator_adapter`, :mod:`cameoguard.provenance`, :mod:`cameoguard.watermark`);
* a consent registry of enrolled likenesses ("cameos") (:mod:`cameoguard.consent`);
* verification and detection (:mod:`cameoguard.provenance`, :mod:`cameoguard.detection`).

Shared basics live beside them: :mod:`cameoguard.settings`, :mod:`cameoguard.errors`,
:mod:`cameoguard.media`, :mod:`cameoguard.db`. Importing this package does no work.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
