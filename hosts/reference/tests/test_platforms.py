import unittest

from distcheck_host.platforms import detect_platform, pick_candidate


class Detection(unittest.TestCase):
    def test_seed_examples(self) -> None:
        self.assertEqual(detect_platform("my-ext-1.0.0-linux-x86_64.tar.gz"), "linux-x86_64")
        self.assertEqual(detect_platform("my-ext-1.0.0-macos-arm64.tar.gz"), "darwin-arm64")
        self.assertEqual(detect_platform("my-ext-1.0.0-universal.tar.gz"), "universal")
        self.assertEqual(detect_platform("my-ext-1.0.0.tar.gz"), "universal")
        self.assertEqual(detect_platform("extension-1.0.0-windows-x86_64.zip"), "windows-x86_64")

    def test_keywords_and_case(self) -> None:
        self.assertEqual(detect_platform("X-LINUX-AARCH64.TGZ"), "linux-aarch64")
        self.assertEqual(detect_platform("x-Linux-arm64.zip"), "linux-aarch64")
        self.assertEqual(detect_platform("x-linux-amd64.zip"), "linux-x86_64")
        self.assertEqual(detect_platform("x-osx-x64.zip"), "darwin-x86_64")
        self.assertEqual(detect_platform("x-darwin-aarch64.zip"), "darwin-arm64")
        self.assertEqual(detect_platform("x-win32-x64.zip"), "windows-x86_64")
        self.assertEqual(detect_platform("x-linux-armv7.zip"), "linux-arm")

    def test_only_one_keyword_is_universal(self) -> None:
        self.assertEqual(detect_platform("x-linux.tar.gz"), "universal")
        self.assertEqual(detect_platform("x-arm64.tar.gz"), "universal")
        self.assertEqual(detect_platform("alarm-farm-linux.tar.gz"), "universal")  # no token "arm"


class Pick(unittest.TestCase):
    def test_exact_then_universal_then_none(self) -> None:
        names = ["e-1.0.0-universal.tar.gz", "e-1.0.0-linux-aarch64.tar.gz", "e-1.0.0-linux-x86_64.tar.gz"]
        self.assertEqual(pick_candidate(names, "linux-x86_64").index, 2)
        self.assertEqual(pick_candidate(names, "linux-aarch64").index, 1)
        self.assertEqual(pick_candidate(names, "darwin-arm64").index, 0)
        self.assertIsNone(pick_candidate(names[1:], "darwin-arm64"))
        self.assertEqual(pick_candidate(names[1:], "linux-x86_64").platform, "linux-x86_64")


if __name__ == "__main__":
    unittest.main()
