import re
import unittest

from distcheck_host.routes import HOST_ROUTES, RESERVED_PREFIXES, match_host_route
from distcheck_host.errors import HostError


class RoutesTest(unittest.TestCase):
    def test_every_host_route_sits_under_a_prefix_extensions_may_not_use(self):
        for route in HOST_ROUTES:
            literal = re.match(r"\^([^()\[\]?*+$\\]*)", route.pattern.pattern).group(1)
            self.assertTrue(any(literal == p.rstrip("/") or literal.startswith(p) for p in RESERVED_PREFIXES),
                            f"{route.pattern.pattern} is not reserved")

    def test_dispatch_keeps_the_documented_methods(self):
        route, groups = match_host_route("GET", "/api/agent/extensions/a.b/config", "/api/agent/extensions/a.b/config")
        self.assertEqual((route.handler, groups), ("_agent_extension", ("a.b", "config")))
        self.assertEqual(match_host_route("GET", "/healthz", "/healthz")[0].handler, "_healthz")
        # A wrong method on the install route is refused; on a GET-only route it is left to extension routes.
        with self.assertRaises(HostError) as refused:
            match_host_route("GET", "/api/agent/install", "/api/agent/install")
        self.assertEqual(refused.exception.code, "method_not_allowed")
        self.assertIsNone(match_host_route("POST", "/healthz", "/healthz"))
        # Static files match on the path as sent, so encoded traversal reaches the static resolver intact.
        route, groups = match_host_route("GET", "/extensions/x/../y", "/extensions/x/%2e%2e/y")
        self.assertEqual((route.handler, groups), ("_static", ("x", "%2e%2e/y")))


if __name__ == "__main__":
    unittest.main()
