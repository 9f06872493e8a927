"""`make bench`: warm token verification CPU cost, and JWKS fetches per cold start.

Baseline, same run: the bare RSA-PKCS1v15-SHA256 signature check of the same token with
`cryptography` (the floor any RS256 verifier pays).
"""

from __future__ import annotations

import base64
import time
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from shared.adapters.identity import JwksCache, TokenVerifier
from tests.support.tokens import AUDIENCE, ISSUER, TokenFactory

ROUNDS = 2000


def _cpu_per_call(fn: Any, rounds: int = ROUNDS) -> float:
    fn()
    started = time.process_time()
    for _ in range(rounds):
        fn()
    return (time.process_time() - started) / rounds


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def test_bench_warm_verification_and_cold_start_fetches() -> None:
    factory = TokenFactory()
    fetches: list[str] = []

    def fetch(url: str) -> dict[str, Any]:
        fetches.append(url)
        return factory.jwks()

    verifier = TokenVerifier(ISSUER, AUDIENCE, JwksCache("http://jwks.test", fetcher=fetch))
    tokens = [factory.token() for _ in range(50)]
    for token in tokens:  # a cold container's first requests
        verifier.verify(token)
    cold_fetches = len(fetches)

    token = tokens[0]
    header, payload, signature = token.split(".")
    public_key = factory._key.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    message, raw_signature = f"{header}.{payload}".encode(), _b64decode(signature)

    def bare() -> None:
        public_key.verify(raw_signature, message, padding.PKCS1v15(), hashes.SHA256())

    baseline = _cpu_per_call(bare)
    ours = _cpu_per_call(lambda: verifier.verify(token))
    print("\n== token verification (warm, per request, CPU)")
    print(f"  bare RSA signature check (baseline)  {baseline * 1000:.3f} ms")
    print(f"  TokenVerifier.verify                 {ours * 1000:.3f} ms  (goal <= 0.2 ms)")
    print(f"  ratio                                {ours / baseline:.1f}x")
    print(f"  JWKS fetches for a cold start        {cold_fetches}  (goal 1)")
    assert cold_fetches == 1
