import os
import unittest

from distcheck_host.errors import HostError
from distcheck_host.static_files import clean_relative, resolve_static

from .helpers import TempDirTest


class Plugin:
    def __init__(self, root: str) -> None:
        self.root = root

    def static_root(self):
        return self.root


class CleanRelative(unittest.TestCase):
    def test_refused(self) -> None:
        for raw in ("", "/etc/passwd", "%2Fetc%2Fpasswd", "..", "../secret", "a/../../secret", "%2e%2e/secret",
                    "%2E%2E%2Fsecret", "..%2fsecret", "%252e%252e/secret", "a%5C..%5Csecret", "a\\b", "C:/x",
                    "a/%00b", "a//b", "./a", "%c0%ae%c0%ae/secret"):
            with self.subTest(raw=raw):
                with self.assertRaises(HostError) as caught:
                    clean_relative(raw)
                self.assertEqual(caught.exception.code, "unsafe_path")

    def test_accepted(self) -> None:
        self.assertEqual(clean_relative("remoteEntry.js"), ["remoteEntry.js"])
        self.assertEqual(clean_relative("assets/my%20file.css"), ["assets", "my file.css"])
        self.assertEqual(clean_relative("a..b/c"), ["a..b", "c"])


class Resolve(TempDirTest):
    def setUp(self) -> None:
        super().setUp()
        self.static = self.path("pkg", "static")
        os.makedirs(os.path.join(self.static, "sub"))
        with open(os.path.join(self.static, "remoteEntry.js"), "w") as handle:
            handle.write("export {}")
        with open(os.path.join(self.static, "sub", "a.css"), "w") as handle:
            handle.write("body{}")
        with open(self.path("pkg", "secret.txt"), "w") as handle:
            handle.write("SECRET")
        os.symlink(self.path("pkg", "secret.txt"), os.path.join(self.static, "leak.txt"))
        os.symlink(self.path("pkg"), os.path.join(self.static, "up"))
        self.plugin = Plugin(self.static)

    def test_serves_inside(self) -> None:
        self.assertEqual(resolve_static(self.plugin, "sub/a.css"), os.path.realpath(os.path.join(self.static, "sub", "a.css")))

    def test_symlinks_pointing_out_are_refused(self) -> None:
        for raw in ("leak.txt", "up/secret.txt"):
            with self.subTest(raw=raw):
                with self.assertRaises(HostError) as caught:
                    resolve_static(self.plugin, raw)
                self.assertEqual(caught.exception.code, "path_outside_static")
                self.assertNotIn("SECRET", caught.exception.message)

    def test_missing_and_directories(self) -> None:
        for raw in ("nope.js", "sub"):
            with self.assertRaises(HostError) as caught:
                resolve_static(self.plugin, raw)
            self.assertEqual(caught.exception.code, "not_found")


if __name__ == "__main__":
    unittest.main()
