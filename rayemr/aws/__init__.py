"""One AWS-style HTTP endpoint for every AWS API rayemr offers (as LocalStack: one port).

- ``Endpoint`` / ``EndpointConfig`` — the server (``rayemr.aws.server``): routing by
  ``X-Amz-Target``, SigV4 verification, AWS's JSON protocol and error shapes, loopback by
  default.
- ``Credentials`` — the access keys it accepts (a credentials file or the environment).
- ``JsonService`` — what a service plugs in (``rayemr.aws.protocol``); ``services.FACTORIES``
  lists the services the endpoint can host (Kinesis: ``rayemr.aws.kinesis``).
- ``serve(...)`` — build the services and start an endpoint in one call.
"""
from __future__ import annotations

from typing import Sequence

from rayemr.aws.credentials import Credentials
from rayemr.aws.protocol import JsonService
from rayemr.aws.server import DEFAULT_PORT, Endpoint, EndpointConfig
from rayemr.aws.services import FACTORIES, ServiceContext, build_services

__all__ = ["Credentials", "DEFAULT_PORT", "Endpoint", "EndpointConfig", "FACTORIES",
           "JsonService", "ServiceContext", "build_services", "serve"]


def serve(services: Sequence[str] = ("kinesis",), *, context: ServiceContext | None = None,
          credentials: Credentials | None = None, config: EndpointConfig | None = None,
          background: bool = True) -> Endpoint:
    """Build ``services`` and start an endpoint for them (on a thread when ``background``)."""
    endpoint = Endpoint(build_services(services, context or ServiceContext()),
                        credentials or Credentials.resolve(), config)
    if background:
        endpoint.start()
    else:
        endpoint.serve_forever()
    return endpoint
