"""One container per entry point: the services a Lambda function uses, each built once, on first use, from one Settings.

The composition root (app.py, and functions/authorizer.py for the authorizer's own function) holds each entry
point's container in a `Lazy`, built on its first call, so every Lambda container builds one. The seam tests use:

    app.api_services.replace(ApiContainer(settings, user_administration=fake))  # a container, one part given
    app.api_services.replace(None)  # the next call builds a fresh container from the environment

A part given to a container's constructor by name (or set on a container before its first use) is used instead of
the one the container would build.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from typing import Self

from shared.config import Settings

__all__ = ["Container", "Lazy"]


class Container:
    """Services built from one Settings, each on first use (functools.cached_property)."""

    def __init__(self, settings: Settings, **parts: object) -> None:
        unknown = sorted(name for name in parts if not isinstance(getattr(type(self), name, None), cached_property))
        if unknown:
            raise TypeError(f"{type(self).__name__} has no part named {', '.join(unknown)}")
        self.settings = settings
        # cached_property reads the instance's own attribute first: a part given here is never built.
        self.__dict__.update(parts)

    @classmethod
    def from_env(cls) -> Self:
        """A container of the settings the environment holds now."""
        return cls(Settings.from_env())


class Lazy[C: Container]:
    """An entry point's container: built by its first call, then the same one for the Lambda container's life."""

    def __init__(self, build: Callable[[], C]) -> None:
        self._build = build
        self._container: C | None = None
        self._lock = threading.Lock()

    def __call__(self) -> C:
        container = self._container
        if container is None:
            # The local API serves requests on threads: the first ones must not build two containers.
            with self._lock:
                if self._container is None:
                    self._container = self._build()
                container = self._container
        return container

    def replace(self, container: C | None) -> None:
        """Serve container from now on; None builds a fresh one on the next call (tests' seam)."""
        with self._lock:
            self._container = container
