"""Stable idempotency keys: the same logical send gets the same key on every retry, in every process.

Integrations derive a key from what identifies a send in their world (an Airflow task instance, a
Prefect task run, a bulk batch and recipient) and :func:`content_fingerprint` of what is sent; the
server answers a repeated key with the first answer and sends nothing new, and
``messages.send(..., reconcile=True)`` looks the key up before sending.
"""

from __future__ import annotations

import hashlib
import json

__all__ = ["content_fingerprint", "derive_key"]


def derive_key(namespace: str, *parts: object) -> str:
    """A key like ``airflow-<32 hex>`` from ``parts``; equal parts give equal keys, anything else differs."""
    joined = "\x00".join(str(part) for part in parts)
    digest = hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{namespace}-{digest[:32]}"


def content_fingerprint(content: object) -> str:
    """A SHA-256 hex digest of what is sent: equal content gives an equal digest in every process.

    ``content`` is JSON-like (dicts, lists, strings, numbers); dict key order does not matter, and other
    values (dates, ids) count by their ``str``. Never raises on text: a lone surrogate hashes too (the
    send itself refuses it, naming the field), so a key is always computed before the checks run.
    """
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
