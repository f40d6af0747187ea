"""The host's own HTTP routes (INTERFACE.md, HTTP API), in one table.

The server dispatches requests through it, and the registry refuses an extension route under any of
its reserved prefixes, so the two can never disagree about which paths belong to the host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class HostRoute:
    method: str
    pattern: re.Pattern[str]
    # The name of the server handler's method that answers it; it gets the pattern's groups.
    handler: str
    # Matched against the path as sent (percent-encoded), not the decoded one.
    raw: bool = False
    # Another method on a matching path is refused (405) rather than passed on to extension routes.
    exclusive: bool = False


AGENT_EXTENSION = re.compile(r"^/api/agent/extensions/([^/]+)(?:/(start|stop|config))?$")

HOST_ROUTES: tuple[HostRoute, ...] = (
    HostRoute("GET", re.compile(r"^/healthz$"), "_healthz"),
    HostRoute("GET", re.compile(r"^/readyz$"), "_readyz"),
    HostRoute("GET", re.compile(r"^/api/version$"), "_version"),
    HostRoute("GET", re.compile(r"^/api/config$"), "_config"),
    HostRoute("GET", re.compile(r"^/api/extensions$"), "_extensions"),
    HostRoute("GET", re.compile(r"^/api/diagnostics$"), "_diagnostics"),
    HostRoute("GET", re.compile(r"^/api/registry$"), "_registry"),
    HostRoute("GET", re.compile(r"^/api/events$"), "_events"),
    HostRoute("GET", re.compile(r"^/api/plugins$"), "_plugin_list"),  # DIR (plugin_dirs.py)
    HostRoute("GET", re.compile(r"^/api/permissions$"), "_plugin_permissions"),  # DIR
    HostRoute("GET", re.compile(r"^/api/agent/extensions$"), "_agent_list"),
    HostRoute("GET", re.compile(r"^/extensions/([^/]+)/(.+)$"), "_static", raw=True),
    HostRoute("POST", re.compile(r"^/api/agent/install$"), "_agent_install", exclusive=True),
    # One entry for status, start, stop and config: it answers 405 itself for a wrong method.
    HostRoute("*", AGENT_EXTENSION, "_agent_extension", raw=True, exclusive=True),
    # KRN (kernel.py): the plugin listing, and every method under /kernel/ to the kernel's endpoints,
    # which answers the envelope {success, data, error} itself (also 404 and 405).
    HostRoute("GET", re.compile(r"^/api/kernel/plugins$"), "_kernel_plugins"),
    HostRoute("*", re.compile(r"^/kernel(/.*)$"), "_kernel_endpoint", exclusive=True),
    # BND (bundles.py): the listing, the import (the raw body is the zip), and one entry for a bundle's
    # detail, activate and deactivate that answers 405 itself for a wrong method.
    HostRoute("GET", re.compile(r"^/api/bundles$"), "_bundles_list"),
    HostRoute("POST", re.compile(r"^/api/bundles/import$"), "_bundles_import", exclusive=True),
    HostRoute("*", re.compile(r"^/api/bundles/([^/]+)(?:/(activate|deactivate))?$"), "_bundle", raw=True, exclusive=True),
)

# Extension routes may not start with these (registry.check_route): every host route's fixed prefix.
RESERVED_PREFIXES = ("/api/agent/", "/api/extensions", "/api/diagnostics", "/api/registry", "/api/config",
                     "/api/version", "/api/events", "/extensions/", "/healthz", "/readyz")
# DIR: plugin routes are mounted by the host at /plugins/<name><path> (plugin_dirs.py), never by extensions.
RESERVED_PREFIXES += ("/plugins/", "/api/plugins", "/api/permissions")
# KRN: kernel endpoints are mounted at /kernel<path> (kernel.py), never by extensions.
RESERVED_PREFIXES += ("/kernel/", "/api/kernel")
# BND: bundle routes are mounted at /bundles/<name><path> (bundles.py), never by extensions.
RESERVED_PREFIXES += ("/bundles/", "/api/bundles")


def match_host_route(method: str, path: str, raw_path: str) -> tuple[HostRoute, tuple[str, ...]] | None:
    """The host route for a request and its pattern's groups; a wrong method on an exclusive route raises."""
    from .errors import HostError

    for route in HOST_ROUTES:
        match = route.pattern.match(raw_path if route.raw else path)
        if match is None:
            continue
        if route.method in ("*", method):
            return route, match.groups()
        if route.exclusive:
            raise HostError("method_not_allowed", f"{method} is not allowed on {path}.")
    return None
