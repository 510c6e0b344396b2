"""Provenance: C2PA keys, manifests, signing and verification.

Flows through here:

* ``keys``      development CA creation; loading and checking production chains and keys
* ``signers``   the signing backends (a key file, or a callback to a KMS/HSM)
* ``manifest``  the manifest we write for generated or captured media, with extra assertions
                and ingredients
* ``sign``      atomic embedding of a signed manifest into a media file
* ``verify``    any file -> a typed :class:`~cameoguard.provenance.report.ProvenanceReport`

``ledger`` records every generated output; ``fingerprint`` computes PDQ, vPDQ and audio
fingerprints; ``softbinding`` resolves any copy back to its ledger entry and manifest.
"""
