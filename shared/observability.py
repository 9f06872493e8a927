"""Powertools logging, metrics and tracing, configured once per process."""

from __future__ import annotations

from functools import lru_cache

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "media-vault"
NAMESPACE = "MediaVault"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


@lru_cache(maxsize=1)
def tracer() -> Tracer:
    """The X-Ray tracer, built on first use so cold starts that never trace skip its import cost."""
    return Tracer(service=SERVICE)
