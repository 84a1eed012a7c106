"""The hand-written async client; ``_sync`` is generated from it by ``scripts/generate_sync.py``."""
