"""Which services the endpoint can host, and how each is built.

``FACTORIES`` maps a service name to ``"module:function"``; the function takes a
``ServiceContext`` and returns a ``JsonService``. Adding a service to the endpoint is one line
here and one module with its ``build`` (see ``rayemr.aws.kinesis``).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from rayemr.aws.protocol import JsonService
from rayemr.core.errors import ConfigError

FACTORIES: dict[str, str] = {
    "kinesis": "rayemr.aws.kinesis:build",
    "firehose": "rayemr.aws.firehose:build",
}


@dataclass(frozen=True)
class ServiceContext:
    """What a service factory may use: where services run and the cluster's configuration."""

    backend: str = "ray"  # "ray": on the Ray cluster; "local": in the endpoint's process
    properties: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # by classification
    address: str | None = None  # the Ray cluster to join (None: RAY_ADDRESS or a local one)

    def classification(self, name: str) -> Mapping[str, str]:
        return self.properties.get(name, {})


def build_services(names: Sequence[str], context: ServiceContext) -> list[JsonService]:
    """The services named, built for ``context``; a one-line error for an unknown name."""
    out = []
    for name in names:
        target = FACTORIES.get(name)
        if target is None:
            raise ConfigError(f"unknown AWS service {name!r}; available: "
                              f"{', '.join(sorted(FACTORIES))}")
        module, _, function = target.partition(":")
        out.append(getattr(importlib.import_module(module), function)(context))
    return out
