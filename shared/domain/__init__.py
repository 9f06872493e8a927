"""Entities, rules and services of Media Vault: no AWS, HTTP or imaging imports here."""
