"""Stable idempotency keys: the same logical send gets the same key on every retry, in every process.

Integrations derive a key from what identifies a send in their world (an Airflow task instance, a
Prefect task run, a bulk batch and recipient); the server answers a repeated key with the first answer
and sends nothing new, and ``messages.send(..., reconcile=True)`` looks the key up before sending.
"""

from __future__ import annotations

import hashlib

__all__ = ["derive_key"]


def derive_key(namespace: str, *parts: object) -> str:
    """A key like ``airflow-<32 hex>`` from ``parts``; equal parts give equal keys, anything else differs."""
    joined = "\x00".join(str(part) for part in parts)
    return f"{namespace}-{hashlib.sha256(joined.encode()).hexdigest()[:32]}"
