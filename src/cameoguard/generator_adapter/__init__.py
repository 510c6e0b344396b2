"""Generation core: backends behind a fail-closed pipeline.

Will live here (issue 5): a backend protocol and registry (cameo_composite, http, diffusers) and
the only public way to generate: consent check -> backend -> scan output faces -> watermark ->
sign -> self-verify -> ledger -> signed media. Raw backend output never leaves this package.
"""
