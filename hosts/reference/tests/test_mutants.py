"""The mutant catalog and the code agree: every mutant_enabled() call names a catalogued mutant,
every catalogued mutant is implemented somewhere, and a normal build switches none on."""

import json
import re
import unittest
from pathlib import Path

from distcheck_host import mutants

PACKAGE = Path(mutants.__file__).parent
CALL = re.compile(r"""mutant_enabled\(\s*["']([a-z0-9-]+)["']\s*\)""")


class MutantCatalogTest(unittest.TestCase):
    def setUp(self):
        self.catalog = json.loads((PACKAGE / "mutants.json").read_text())["mutants"]
        self.used = {m for path in PACKAGE.rglob("*.py") for m in CALL.findall(path.read_text())}

    def test_every_call_site_names_a_catalogued_mutant(self):
        self.assertEqual(sorted(self.used - {m["name"] for m in self.catalog}), [])

    def test_every_catalogued_mutant_is_implemented(self):
        self.assertEqual(sorted({m["name"] for m in self.catalog} - self.used), [])

    def test_entries_name_a_clause_and_suites(self):
        for m in self.catalog:
            self.assertRegex(m["clause"], r"^(WHL|ARC|HST)-\d{2}$", m["name"])
            self.assertTrue(m["suites"], m["name"])
            self.assertTrue(m["name"].startswith(m["clause"].lower().replace("-", "")), m["name"])

    def test_a_normal_build_has_no_mutant(self):
        mutants.active_mutant.cache_clear()
        try:
            import os
            os.environ["DISTCHECK_HOST_BUILD_FILE"] = "/nonexistent/build.toml"
            self.assertIsNone(mutants.active_mutant())
            self.assertFalse(mutants.mutant_enabled(self.catalog[0]["name"]))
        finally:
            os.environ.pop("DISTCHECK_HOST_BUILD_FILE", None)
            mutants.active_mutant.cache_clear()

    def test_an_unknown_mutant_is_refused(self):
        import os
        import tempfile

        from distcheck_host.errors import HostError

        with tempfile.TemporaryDirectory() as tmp:
            build = Path(tmp) / "build.toml"
            build.write_text('mutant = "whl99-typo"\n')
            os.environ["DISTCHECK_HOST_BUILD_FILE"] = str(build)
            mutants.active_mutant.cache_clear()
            try:
                with self.assertRaises(HostError) as caught:
                    mutants.active_mutant()
                self.assertIn("unknown mutant 'whl99-typo'", str(caught.exception))
            finally:
                os.environ.pop("DISTCHECK_HOST_BUILD_FILE", None)
                mutants.active_mutant.cache_clear()
