"""C2PA validation status codes: which kind of problem each is, and what it means in one line.

The c2pa SDK reports codes such as ``assertion.dataHash.mismatch``. A verification report splits
them into integrity failures (the file or its manifest was changed or is malformed), trust
failures (the signature is intact but its signer is not trusted, expired or revoked) and
informational notes. Unknown codes are classified by their prefix and explained generically.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Category", "categorize", "explain"]


class Category(StrEnum):
    SUCCESS = "success"
    INTEGRITY = "integrity"
    TRUST = "trust"
    INFORMATIONAL = "informational"


_TRUST_PREFIXES = ("signingCredential.", "timeStamp.untrusted", "timeStamp.outsideValidity")

_EXPLANATIONS: dict[str, str] = {
    # success
    "claimSignature.validated": "the claim signature is cryptographically valid",
    "claimSignature.insideValidity": "the claim was signed while the certificate was valid",
    "signingCredential.trusted": "the signing certificate chains to a configured trust anchor",
    "signingCredential.ocsp.notRevoked": "OCSP says the signing certificate is not revoked",
    "timeStamp.trusted": "the time-stamp comes from a trusted time-stamp authority",
    "timeStamp.validated": "the time-stamp is valid",
    "assertion.hashedURI.match": "an assertion matches the hash the claim recorded for it",
    "assertion.dataHash.match": "the media bytes match the hash in the manifest",
    "assertion.bmffHash.match": "the video/audio data matches the hash in the manifest",
    "assertion.boxesHash.match": "the media boxes match the hash in the manifest",
    "assertion.collectionHash.match": "the file collection matches its hash",
    "ingredient.manifest.validated": "an ingredient's manifest validated",
    "ingredient.claimSignature.validated": "an ingredient's claim signature is valid",
    # integrity
    "assertion.dataHash.mismatch": "the media bytes changed after signing (pixels or data "
    "were edited)",
    "assertion.bmffHash.mismatch": "the video/audio data changed after signing (edited or "
    "truncated)",
    "assertion.boxesHash.mismatch": "parts of the file changed after signing",
    "assertion.collectionHash.mismatch": "a file of the collection changed after signing",
    "assertion.hashedURI.mismatch": "an assertion was altered after signing",
    "assertion.missing": "an assertion the claim refers to is missing",
    "assertion.multipleHardBindings": "the manifest has more than one hard binding",
    "assertion.undeclared": "the manifest holds an assertion the claim does not list",
    "assertion.inaccessible": "an assertion could not be read",
    "assertion.notRedacted": "an assertion that should have been redacted is present",
    "assertion.selfRedacted": "an assertion redacts itself",
    "assertion.action.ingredientMismatch": "an action refers to an ingredient that does not match",
    "assertion.action.malformed": "the actions assertion is malformed",
    "assertion.action.redacted": "an action was redacted in a way the spec forbids",
    "assertion.cbor.invalid": "an assertion is not valid CBOR",
    "assertion.json.invalid": "an assertion is not valid JSON",
    "assertion.dataHash.malformed": "the data hash assertion is malformed",
    "assertion.bmffHash.malformed": "the BMFF hash assertion is malformed",
    "claim.missing": "a manifest the store refers to is missing",
    "claim.multiple": "more than one claim in a manifest",
    "claim.hardBindings.missing": "the claim has no hard binding to the media",
    "claim.required.missing": "a required field of the claim is missing",
    "claim.cbor.invalid": "the claim is not valid CBOR",
    "claim.malformed": "the claim is malformed",
    "claimSignature.missing": "the claim has no signature",
    "claimSignature.mismatch": "the claim signature does not match (claim or signature altered)",
    "claimSignature.outsideValidity": "the claim was signed outside the certificate's validity",
    "manifest.inaccessible": "the manifest is stored remotely and was not fetched (remote "
    "fetching is off), so the file cannot be verified",
    "manifest.multipleParents": "the manifest has more than one parent ingredient",
    "manifest.update.invalid": "an update manifest is invalid",
    "manifest.update.wrongParents": "an update manifest has the wrong parents",
    "manifest.timestamp.invalid": "the manifest time-stamp is invalid",
    "manifest.compressed.invalid": "a compressed manifest is invalid",
    "ingredient.hashedURI.mismatch": "an ingredient's recorded hash does not match",
    "ingredient.manifest.missing": "an ingredient's manifest is missing",
    "ingredient.manifest.mismatch": "an ingredient's manifest does not match what was recorded",
    "ingredient.claimSignature.mismatch": "an ingredient's claim signature does not match",
    "algorithm.unsupported": "the manifest uses a hash or signature algorithm that is not "
    "supported",
    "algorithm.deprecated": "the manifest uses a deprecated algorithm",
    "general.error": "the manifest could not be validated",
    "cameoguard.manifest.unreadable": "the manifest store is present but cannot be parsed",
    # trust
    "signingCredential.untrusted": "the signer's certificate does not chain to a trusted root "
    "(configure CAMEOGUARD_TRUST_ANCHORS to trust it)",
    "signingCredential.invalid": "the signing certificate is malformed or not allowed to sign",
    "signingCredential.revoked": "the signing certificate was revoked",
    "signingCredential.expired": "the signing certificate had expired when it was checked",
    "signingCredential.ocsp.revoked": "OCSP says the signing certificate was revoked",
    "signingCredential.ocsp.unknown": "OCSP does not know the signing certificate",
    "signingCredential.ocsp.inaccessible": "the OCSP responder could not be reached",
    "signingCredential.ocsp.invalid": "the OCSP response is invalid",
    "timeStamp.untrusted": "the time-stamp authority is not trusted",
    "timeStamp.outsideValidity": "the time-stamp is outside the certificate's validity",
    # informational
    "signingCredential.ocsp.skipped": "revocation (OCSP) was not checked",
    "timeStamp.mismatch": "the time-stamp does not match the signature",
    "timeStamp.malformed": "the time-stamp is malformed",
    "status.prerelease": "the manifest uses a pre-release (pre-1.0) format that cannot be "
    "validated",
    "assertion.bmffHash.additionalExclusionsPresent": "the video hash excludes extra boxes "
    "(allowed, but those parts are not protected)",
    "cawg.x509.credential.untrusted": "the CAWG identity credential is not trusted here",
}


def categorize(code: str, reported_as: str) -> Category:
    """Where a code belongs. ``reported_as`` is the SDK's list: success/informational/failure."""
    if reported_as == "success":
        return Category.SUCCESS
    if reported_as == "informational":
        return Category.INFORMATIONAL
    if code.startswith(_TRUST_PREFIXES) or code.endswith(".untrusted"):
        return Category.TRUST
    return Category.INTEGRITY


def explain(code: str, sdk_explanation: str | None = None) -> str:
    """A one-line explanation for people."""
    if code in _EXPLANATIONS:
        return _EXPLANATIONS[code]
    if sdk_explanation:
        return sdk_explanation
    return f"validation status {code}"
