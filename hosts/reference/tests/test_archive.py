import hashlib
import http.server
import os
import tarfile
import threading
import time
import unittest

from distcheck_host.archive import Limits, archive_format, extract_archive, fetch, validate_sha256
from distcheck_host.archive.entries import EntryProblem, check_entry_name
from distcheck_host.errors import HostError

from .helpers import MANIFEST, TempDirTest, make_tar, make_zip, read_bytes, sha256

BIG = Limits(max_bytes=10 * 1024 * 1024, max_files=100)


class EntryNames(unittest.TestCase):
    def assertReason(self, name: str, reason: str) -> None:
        with self.assertRaises(EntryProblem) as caught:
            check_entry_name(name)
        self.assertEqual(caught.exception.reason, reason, name)
        self.assertEqual(caught.exception.code, "unsafe_entry")

    def test_refusals(self) -> None:
        self.assertReason("/etc/passwd", "absolute")
        self.assertReason("../x", "parent_segment")
        self.assertReason("a/../../x", "parent_segment")
        self.assertReason("a/..", "parent_segment")
        self.assertReason("a\\b", "backslash")
        self.assertReason("C:/x", "drive_letter")
        self.assertReason("c:x", "drive_letter")
        self.assertReason(".git/config", "hidden")
        self.assertReason("a/.DS_Store", "hidden")
        self.assertReason("./main.py", "hidden")
        self.assertReason("a\x00b", "nul")
        self.assertReason("a" * 256, "name_too_long")
        self.assertReason("a/" * 2049 + "b", "name_too_long")
        self.assertReason("a//b", "empty_segment")

    def test_accepted(self) -> None:
        self.assertEqual(check_entry_name("main.py"), "main.py")
        self.assertEqual(check_entry_name("pkg/"), "pkg")
        self.assertEqual(check_entry_name("pkg/sub/file..txt"), "pkg/sub/file..txt")


class Formats(unittest.TestCase):
    def test_accepted_and_refused(self) -> None:
        self.assertEqual(archive_format("a.tar.gz"), "tar.gz")
        self.assertEqual(archive_format("A.TGZ"), "tar.gz")
        self.assertEqual(archive_format("a.zip"), "zip")
        for bad in ("a.tar", "a.tar.bz2", "a.tar.xz", "a.7z", "a.whl", "a", ".zip"):
            with self.subTest(name=bad):
                with self.assertRaises(HostError) as caught:
                    archive_format(bad)
                self.assertEqual(caught.exception.code, "unsupported_format")

    def test_checksum_format(self) -> None:
        digest = "a" * 64
        self.assertEqual(validate_sha256("SHA256:" + digest.upper()), digest)
        for bad in ("", "abc", "g" * 64, None, 5):
            with self.assertRaises(HostError) as caught:
                validate_sha256(bad)
            self.assertEqual(caught.exception.code, "checksum_invalid")


class Extraction(TempDirTest):
    def dest(self) -> str:
        path = self.path("out")
        os.makedirs(path)
        return path

    def assertRefused(self, archive: str, kind: str, code: str, reason: str | None = None,
                      limits: Limits = BIG) -> HostError:
        dest = self.dest()
        with self.assertRaises(HostError) as caught:
            extract_archive(archive, kind, dest, limits, os.path.basename(archive))
        self.assertEqual(caught.exception.code, code, caught.exception.message)
        if reason:
            self.assertEqual(caught.exception.reason, reason)
        self.assertEqual(os.listdir(dest), [], "nothing may be written for a refused archive")
        return caught.exception

    def test_good_tar_and_zip(self) -> None:
        members = [("extension.toml", MANIFEST), ("pkg/", b""), ("pkg/__init__.py", b"x = 1\n"), ("main.py", b"print(1)\n")]
        tar = make_tar(self.path("good.tar.gz"), [m for m in members if not m[0].endswith("/")])
        result = extract_archive(tar, "tar.gz", self.dest(), BIG, "good.tar.gz")
        self.assertEqual((result.files, result.bytes), (3, len(MANIFEST) + 15))
        self.assertTrue(os.path.isfile(self.path("out", "pkg", "__init__.py")))
        zipped = make_zip(self.path("good.zip"), members)
        dest2 = self.path("out2")
        os.makedirs(dest2)
        self.assertEqual(extract_archive(zipped, "zip", dest2, BIG, "good.zip").files, 3)

    def test_tar_entry_types(self) -> None:
        base = [("extension.toml", MANIFEST)]
        cases = [
            ("symlink", ("link", tarfile.SYMTYPE, {"linkname": "/etc/passwd"})),
            ("hardlink", ("hard", tarfile.LNKTYPE, {"linkname": "extension.toml"})),
            ("device", ("dev", tarfile.CHRTYPE, {"devmajor": 1, "devminor": 3})),
            ("device", ("blk", tarfile.BLKTYPE, {"devmajor": 8, "devminor": 0})),
            ("fifo", ("pipe", tarfile.FIFOTYPE, {})),
        ]
        for index, (reason, member) in enumerate(cases):
            with self.subTest(reason=reason):
                archive = make_tar(self.path(f"t{index}.tar.gz"), base + [member])
                self.tearDownDest()
                error = self.assertRefused(archive, "tar.gz", "unsafe_entry", reason)
                self.assertIn(member[0], error.message)

    def tearDownDest(self) -> None:
        from distcheck_host.fsutil import force_rmtree

        force_rmtree(self.path("out"))

    def test_tar_names(self) -> None:
        cases = [("absolute", "/abs.py"), ("parent_segment", "a/../../evil.py"), ("backslash", "a\\b.py"),
                 ("hidden", ".env"), ("hidden", "pkg/.secret/x"), ("drive_letter", "C:/x.py")]
        for index, (reason, name) in enumerate(cases):
            with self.subTest(name=name):
                archive = make_tar(self.path(f"n{index}.tar.gz"), [("extension.toml", MANIFEST), ("ok.py", b"1"), (name, b"x")])
                self.tearDownDest()
                self.assertRefused(archive, "tar.gz", "unsafe_entry", reason)

    def test_bad_entry_after_good_ones_writes_nothing(self) -> None:
        members = [("extension.toml", MANIFEST)] + [(f"f{i}.py", b"x" * 100) for i in range(20)] + [("../evil", b"x")]
        archive = make_tar(self.path("late.tar.gz"), members)
        self.assertRefused(archive, "tar.gz", "unsafe_entry", "parent_segment")
        self.assertFalse(os.path.exists(self.path("evil")))

    def test_duplicates(self) -> None:
        archive = make_tar(self.path("dup.tar.gz"), [("extension.toml", MANIFEST), ("a.py", b"1"), ("a.py", b"2")])
        self.assertRefused(archive, "tar.gz", "unsafe_entry", "duplicate")
        self.tearDownDest()
        archive = make_tar(self.path("dup2.tar.gz"), [("extension.toml", MANIFEST), ("a", b"1"), ("a/b", b"2")])
        self.assertRefused(archive, "tar.gz", "unsafe_entry", "duplicate")
        self.tearDownDest()
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            archive = make_zip(self.path("dup.zip"), [("extension.toml", MANIFEST), ("a.py", b"1"), ("a.py", b"2")])
        self.assertRefused(archive, "zip", "unsafe_entry", "duplicate")

    def test_zip_special_entries(self) -> None:
        import stat

        archive = make_zip(self.path("sym.zip"), [("extension.toml", MANIFEST), ("link", b"/etc/passwd", stat.S_IFLNK | 0o777)])
        self.assertRefused(archive, "zip", "unsafe_entry", "symlink")
        self.tearDownDest()
        archive = make_zip(self.path("fifo.zip"), [("extension.toml", MANIFEST), ("p", b"", stat.S_IFIFO | 0o644)])
        self.assertRefused(archive, "zip", "unsafe_entry", "fifo")
        self.tearDownDest()
        for index, name in enumerate(["../x.py", "/x.py", "a\\..\\x.py", ".hidden"]):
            archive = make_zip(self.path(f"z{index}.zip"), [("extension.toml", MANIFEST), (name, b"1")])
            self.assertRefused(archive, "zip", "unsafe_entry")
            self.tearDownDest()

    def test_zip_nul_in_name_is_seen(self) -> None:
        archive = make_zip(self.path("nul.zip"), [("extension.toml", MANIFEST), ("a.py", b"1")])
        data = bytearray(read_bytes(archive))
        # Rename "a.py" to "a\0py" in both headers: zipfile itself would silently cut the name at the NUL.
        data = data.replace(b"a.py", b"a\x00py")
        with open(archive, "wb") as handle:
            handle.write(data)
        self.assertRefused(archive, "zip", "unsafe_entry", "nul")

    def test_zip_local_header_must_match_central_directory(self) -> None:
        archive = make_zip(self.path("mismatch.zip"), [("extension.toml", MANIFEST), ("safe.py", b"1")])
        data = bytearray(read_bytes(archive))
        local = data.index(b"safe.py")  # the first occurrence is the local header
        data[local:local + 7] = b"..\\x.py"
        with open(archive, "wb") as handle:
            handle.write(data)
        self.assertRefused(archive, "zip", "unsafe_entry", "name_mismatch")

    def test_file_count_limit(self) -> None:
        limits = Limits(max_bytes=1 << 20, max_files=5)
        at_limit = make_tar(self.path("five.tar.gz"), [("extension.toml", MANIFEST)] + [(f"f{i}", b"x") for i in range(4)])
        self.assertEqual(extract_archive(at_limit, "tar.gz", self.dest(), limits, "five").files, 5)
        self.tearDownDest()
        over = make_tar(self.path("six.tar.gz"), [("extension.toml", MANIFEST)] + [(f"f{i}", b"x") for i in range(5)])
        error = self.assertRefused(over, "tar.gz", "too_many_files", limits=limits)
        self.assertIn("5", error.message)
        self.tearDownDest()
        over_zip = make_zip(self.path("six.zip"), [("extension.toml", MANIFEST)] + [(f"f{i}", b"x") for i in range(5)])
        self.assertRefused(over_zip, "zip", "too_many_files", limits=limits)

    def test_size_limit_declared(self) -> None:
        limits = Limits(max_bytes=4096, max_files=100)
        bomb = make_tar(self.path("bomb.tar.gz"), [("extension.toml", MANIFEST), ("zeros", b"\0" * 100_000)])
        error = self.assertRefused(bomb, "tar.gz", "too_large_extracted", limits=limits)
        self.assertIn("4096", error.message)
        self.tearDownDest()
        bomb_zip = make_zip(self.path("bomb.zip"), [("extension.toml", MANIFEST), ("zeros", b"\0" * 100_000)])
        self.assertRefused(bomb_zip, "zip", "too_large_extracted", limits=limits)

    def test_size_limit_counts_written_bytes_not_declared_sizes(self) -> None:
        """A zip that under-declares its size: the writer stops at the limit and never writes past it."""
        import struct
        import zipfile

        limits = Limits(max_bytes=50_000, max_files=100)
        archive = make_zip(self.path("liar.zip"), [("extension.toml", MANIFEST), ("zeros", b"\0" * 200_000)])
        with zipfile.ZipFile(archive) as z:
            info = z.getinfo("zeros")
        data = bytearray(read_bytes(archive))
        # Patch the central directory's uncompressed size of "zeros" down to 10 bytes.
        central = data.index(b"PK\x01\x02" + data[data.index(b"PK\x01\x02") + 4:][:0], 0)
        while True:
            name_len = struct.unpack("<H", data[central + 28:central + 30])[0]
            if bytes(data[central + 46:central + 46 + name_len]) == b"zeros":
                break
            extra, comment = struct.unpack("<HH", data[central + 30:central + 34])
            central += 46 + name_len + extra + comment
        data[central + 24:central + 28] = struct.pack("<L", 10)
        with open(archive, "wb") as handle:
            handle.write(data)
        dest = self.dest()
        with self.assertRaises(HostError) as caught:
            extract_archive(archive, "zip", dest, limits, "liar.zip")
        self.assertIn(caught.exception.code, ("too_large_extracted", "archive_corrupt"))
        written = sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(dest) for f in files)
        self.assertLessEqual(written, limits.max_bytes)
        self.assertEqual(info.file_size, 200_000)

    def test_streamed_bytes_stop_at_the_limit(self) -> None:
        """Declared sizes pass the first pass (limit above them), the writer still stops at the limit."""
        from distcheck_host.archive import extract as extract_module

        limits = Limits(max_bytes=100_000, max_files=100)
        archive = make_tar(self.path("ok.tar.gz"), [("extension.toml", MANIFEST), ("a", b"1" * 60_000), ("b", b"2" * 60_000)])
        original = extract_module.scan_archive
        extract_module.scan_archive = lambda *args, **kwargs: None  # pretend the headers lied
        try:
            dest = self.dest()
            with self.assertRaises(HostError) as caught:
                extract_archive(archive, "tar.gz", dest, limits, "ok.tar.gz")
        finally:
            extract_module.scan_archive = original
        self.assertEqual(caught.exception.code, "too_large_extracted")
        written = sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(dest) for f in files)
        self.assertLessEqual(written, limits.max_bytes)

    def test_manifest_must_be_at_root(self) -> None:
        wrapped = make_tar(self.path("wrapped.tar.gz"), [("my-ext/extension.toml", MANIFEST), ("my-ext/main.py", b"1")])
        error = self.assertRefused(wrapped, "tar.gz", "manifest_not_at_root")
        self.assertIn("my-ext/", error.message)
        self.tearDownDest()
        missing = make_zip(self.path("none.zip"), [("main.py", b"1")])
        self.assertRefused(missing, "zip", "manifest_not_at_root")

    def test_corrupt_archive(self) -> None:
        archive = make_tar(self.path("c.tar.gz"), [("extension.toml", MANIFEST), ("main.py", b"x" * 10000)])
        data = read_bytes(archive)
        with open(archive, "wb") as handle:
            handle.write(data[: len(data) // 2])
        self.assertRefused(archive, "tar.gz", "archive_corrupt")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


class Fetching(TempDirTest):
    def setUp(self) -> None:
        super().setUp()
        self.body = b"archive-bytes" * 1000
        self.digest = hashlib.sha256(self.body).hexdigest()
        body = self.body

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/slow.tar.gz":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    try:
                        for i in range(0, len(body), 100):
                            self.wfile.write(body[i:i + 100])
                            self.wfile.flush()
                            time.sleep(0.05)
                    except OSError:
                        pass  # the client gave up: that is the point of this route
                    return
                if self.path == "/truncated.tar.gz":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    return
                if self.path == "/missing.tar.gz":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def tearDown(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        super().tearDown()

    def fetch(self, source: str, digest: str | None = None, **kwargs):
        options = {"max_bytes": 1 << 20, "timeout": 10.0}
        options.update(kwargs)
        return fetch(source, self.path("dl"), digest or self.digest, **options)

    def assertCode(self, code: str, *args, **kwargs) -> HostError:
        with self.assertRaises(HostError) as caught:
            self.fetch(*args, **kwargs)
        self.assertEqual(caught.exception.code, code, caught.exception.message)
        return caught.exception

    def test_http_ok_and_checksum(self) -> None:
        fetched = self.fetch(self.url + "/ok.tar.gz")
        self.assertEqual((fetched.size, fetched.file_name), (len(self.body), "ok.tar.gz"))
        error = self.assertCode("checksum_mismatch", self.url + "/ok.tar.gz", "0" * 64)
        self.assertIn(self.digest, error.message)

    def test_http_truncated_is_a_checksum_failure(self) -> None:
        error = self.assertCode("checksum_mismatch", self.url + "/truncated.tar.gz")
        self.assertIn("truncated", error.message)

    def test_http_too_large_and_timeout_and_404(self) -> None:
        self.assertCode("download_too_large", self.url + "/ok.tar.gz", max_bytes=100)
        started = time.monotonic()
        self.assertCode("download_timeout", self.url + "/slow.tar.gz", timeout=0.3)
        self.assertLess(time.monotonic() - started, 3.0)
        self.assertCode("download_failed", self.url + "/missing.tar.gz")

    def test_local_file(self) -> None:
        path = self.path("local.tar.gz")
        with open(path, "wb") as handle:
            handle.write(self.body)
        self.assertEqual(self.fetch(path).sha256, sha256(path))
        self.assertEqual(self.fetch("file://" + path).size, len(self.body))
        self.assertCode("download_too_large", path, max_bytes=10)
        self.assertCode("download_failed", self.path("nope.tar.gz"))


if __name__ == "__main__":
    unittest.main()
