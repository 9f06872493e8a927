"""Fuzz tier: Schemathesis generates requests from /openapi.json against a local stack on loopback."""
