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


class ResolveThroughTheFileSystem(TempDirTest):
    """WHL-12 judged by where a path resolves, not by its text: links made inside static/ (as the
    static-symlinks sample's setup() does) to a file, a folder, the package root and an absolute path."""

    def setUp(self) -> None:
        super().setUp()
        self.pkg = self.path("pkg")
        self.static = os.path.join(self.pkg, "static")
        os.makedirs(os.path.join(self.static, "nested"))
        os.makedirs(os.path.join(self.pkg, "private"))
        with open(os.path.join(self.static, "visible.txt"), "w") as handle:
            handle.write("visible")
        with open(os.path.join(self.static, "nested", "inner.txt"), "w") as handle:
            handle.write("inner")
        with open(os.path.join(self.pkg, "private", "secret.txt"), "w") as handle:
            handle.write("SECRET")
        self.outside = self.path("elsewhere.txt")
        with open(self.outside, "w") as handle:
            handle.write("ELSEWHERE")
        os.symlink("../private/secret.txt", os.path.join(self.static, "leak.txt"))
        os.symlink("../private", os.path.join(self.static, "leakdir"))
        os.symlink("../..", os.path.join(self.static, "nested", "to-package-root"))
        os.symlink(self.outside, os.path.join(self.static, "absolute-link"))
        os.symlink("visible.txt", os.path.join(self.static, "alias.txt"))
        self.plugin = Plugin(self.static)

    def refused(self, raw: str) -> HostError:
        with self.assertRaises(HostError) as caught:
            resolve_static(self.plugin, raw)
        self.assertGreaterEqual(caught.exception.status, 400)
        self.assertLess(caught.exception.status, 500)
        for text in ("SECRET", "ELSEWHERE"):
            self.assertNotIn(text, caught.exception.message)
        return caught.exception

    def test_links_out_of_static_are_refused_as_outside(self) -> None:
        for raw in ("leak.txt", "leakdir/secret.txt", "nested/to-package-root/private/secret.txt",
                    "absolute-link", "leakdir", "nested/to-package-root"):
            with self.subTest(raw=raw):
                error = self.refused(raw)
                self.assertEqual(error.code, "path_outside_static")
                self.assertEqual(error.status, 403)

    def test_a_link_that_resolves_inside_static_is_served_from_its_real_path(self) -> None:
        real = os.path.realpath(os.path.join(self.static, "visible.txt"))
        self.assertEqual(resolve_static(self.plugin, "alias.txt"), real)
        self.assertEqual(resolve_static(self.plugin, "nested/to-package-root/static/visible.txt"), real)

    def test_static_itself_and_folders_are_refused(self) -> None:
        for raw, code in (("", "unsafe_path"), ("nested/", "unsafe_path"), ("nested", "not_found"),
                          ("leakdir/", "unsafe_path"), ("nested/to-package-root/", "unsafe_path"),
                          ("nested/to-package-root/static", "path_outside_static")):
            with self.subTest(raw=raw):
                error = self.refused(raw)
                self.assertEqual(error.code, code)
                for name in ("inner.txt", "visible.txt", "secret.txt"):
                    self.assertNotIn(name, error.message)


if __name__ == "__main__":
    unittest.main()
