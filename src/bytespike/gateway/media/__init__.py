"""Multimodal endpoints behind the same key and wallet as chat (issue #6, docs/MEDIA.md).

One module per modality - ``embeddings``, ``rerank``, ``images``, ``audio``, ``video`` - each a
thin handler over ``common`` (validation, upload limits, scopes, per-unit pricing, settle)
and ``bytespike.providers.media`` (the upstream calls). Prices come from the catalog in each
modality's own unit (``Model.unit_price``).
"""
