"""`distcheck-host image-setup` (INTERFACE.md): a bad build file fails the image build, a good one
changes nothing in a normal build."""

import contextlib
import io
import os
import tempfile
import unittest
from unittest import mock

from distcheck_host.cli import main


class ImageSetupTest(unittest.TestCase):
    def run_setup(self, build_text: str | None) -> tuple[int, str, str]:
        with tempfile.TemporaryDirectory() as tmp:
            build = os.path.join(tmp, "build.toml")
            if build_text is not None:
                with open(build, "w", encoding="utf-8") as handle:
                    handle.write(build_text)
            out, err = io.StringIO(), io.StringIO()
            with mock.patch.dict(os.environ, {"DISTCHECK_HOST_BUILD_FILE": build}), \
                    contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(["image-setup"])
            return code, out.getvalue(), err.getvalue()

    def test_a_normal_build_is_set_up(self) -> None:
        code, out, _ = self.run_setup('core_version = "0.8.0"\n')
        self.assertEqual(code, 0)
        self.assertEqual(out, "distcheck-host image set up\n")

    def test_no_build_file_is_a_normal_build(self) -> None:
        self.assertEqual(self.run_setup(None)[0], 0)

    def test_the_build_label_is_printed(self) -> None:
        code, out, _ = self.run_setup('mutant = "arc10-default-grace-30"\n')
        self.assertEqual(code, 0)
        self.assertIn("(mutant arc10-default-grace-30)", out)

    def test_a_bad_build_file_fails_the_build(self) -> None:
        code, _, err = self.run_setup('typo_version = "1"\n')
        self.assertEqual(code, 2)
        self.assertIn("config_invalid", err)
        self.assertIn("typo_version", err)


if __name__ == "__main__":
    unittest.main()
