"""Provenance: C2PA keys, manifests, signing and verification.

Flows through here:

* ``keys``      development CA creation; loading and checking production chains and keys
* ``signers``   the signing backends (a key file, or a callback to a KMS/HSM)
* ``manifest``  the manifest we write for generated or captured media, with extra assertions
                and ingredients
* ``sign``      atomic embedding of a signed manifest into a media file
* ``verify``    any file -> a typed :class:`~cameoguard.provenance.report.ProvenanceReport`

Later (issue 3): the generation ledger, soft-binding resolution and fingerprints.
"""
