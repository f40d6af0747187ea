import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readStoredBundles, SqliteUnreadable, storedBundlesOf } from "./bundle-store-reader.ts";
import type { HostHttp } from "./host-adapter.ts";

// Each file was written by SQLite (make-bundle-stores.py) and answered by bundle-wire.ts's
// READ_STORE_PY, SQLite's own reading in Python: the read through sql.js must give exactly that
// answer, or refuse so that SQLite in the container answers.
const DIR = path.join(import.meta.dirname, "__fixtures__", "bundle-stores");
const file = (name: string, suffix = ""): Buffer => readFileSync(path.join(DIR, `${name}.sqlite3${suffix}`));
const expected = (name: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(DIR, `${name}.expected.json`), "utf8")) as Record<string, unknown>;

describe("the bundle database read from its bytes with sql.js", () => {
  for (const name of ["empty", "typical", "large", "altered", "wal", "utf16", "real-version", "text-edges", "untyped-integer"]) {
    it(`${name}: the same rows, order and values as SQLite's answer`, async () => {
      expect(await storedBundlesOf(file(name))).toEqual(expected(name));
    });
  }

  it("large really exercises interior pages, overflow chains and UTF-8 order (the fixture's precondition)", () => {
    const bytes = file("large");
    expect(bytes.readUInt16BE(16), "page size").toBe(512);
    const answer = expected("large") as { bundles: Array<{ name: string | null }>; activations: Array<{ activation_error: string | null }> };
    expect(answer.bundles.length).toBeGreaterThan(200);
    expect(Math.max(...answer.activations.map((a) => a.activation_error?.length ?? 0))).toBeGreaterThan(4 * 512);
    const names = answer.bundles.map((b) => b.name).filter((n): n is string => n !== null);
    // JavaScript's own sort (UTF-16) would put U+E000 after U+1F600; SQLite's BINARY order does not.
    expect([...names].sort()).not.toEqual(names);
    expect(answer.bundles[0]!.name, "a NULL name sorts first").toBeNull();
  });

  it("text-edges and utf16 hold TEXT a lax decoder changes (the fixtures' precondition)", () => {
    const names = (name: string): string[] => (expected(name) as { bundles: Array<{ name: string }> }).bundles.map((b) => b.name);
    expect(names("text-edges")).toEqual(expect.arrayContaining(["\ufeffbom-first", "nul\u0000inside", "\ufffd-genuine", "\u{1f600}"]));
    expect(names("utf16")).toContain("\ufeffbom \u{1f600}");
    expect(file("utf16").readUInt32BE(56), "text encoding: UTF-16le").toBe(2);
  });

  it("wal: a database in WAL mode whose -wal file is gone is answered from the file (its header says WAL)", () => {
    expect([file("wal")[18], file("wal")[19]]).toEqual([2, 2]);
  });

  it("wal-pending: the file's bytes alone lack the commit its -wal file holds (why a -wal file sends the read to SQLite)", async () => {
    expect(file("wal-pending", "-wal").length).toBeGreaterThan(32);
    const alone = await storedBundlesOf(file("wal-pending"));
    expect(alone.bundles.map((b) => b.name)).toEqual(["in-the-file"]);
    expect(alone).not.toEqual(expected("wal-pending"));
  });

  for (const name of ["untyped-big-integer", "untyped-real", "blob-name", "not-utf8", "no-activations"]) {
    it(`${name}: refused, so SQLite answers (${JSON.stringify(expected(name)).slice(0, 90)})`, async () => {
      await expect(storedBundlesOf(file(name))).rejects.toThrow(SqliteUnreadable);
    });
  }

  it("a file cut short or not SQLite at all is refused", async () => {
    await expect(storedBundlesOf(file("typical").subarray(0, 8192))).rejects.toThrow(SqliteUnreadable);
    await expect(storedBundlesOf(file("large").subarray(0, file("large").length - 512))).rejects.toThrow(SqliteUnreadable);
    await expect(storedBundlesOf(Buffer.from("not a database, and longer than a SQLite header of one hundred bytes: ".repeat(3)))).rejects.toThrow(SqliteUnreadable);
  });
});

describe("reading the bundle database through the container", () => {
  /**
   * A container seam: the file's successive reads, whether a journal is there at each look, and
   * the -wal file's bytes at each look.
   */
  function container(reads: Array<Buffer | undefined>, journal: boolean[] = [], wal: Array<Buffer | undefined> = []): HostHttp {
    let read = 0;
    let journalLooks = 0;
    let walLooks = 0;
    const at = <T,>(list: T[], i: number): T | undefined => list[Math.min(i, Math.max(list.length - 1, 0))];
    return {
      get: async () => undefined as never,
      raw: async () => ({ statusCode: 500, body: "", headers: {} }),
      exec: async () => ({ exitCode: 1, stdout: "", stderr: "" }),
      readFileIfExists: async (p: string) => (p.endsWith("-wal") ? at(wal, walLooks++) : at(reads, read++)),
      exists: async (p: string) => (p.endsWith("-journal") ? (at(journal, journalLooks++) ?? false) : false),
    };
  }

  it("answers from two identical reads with no journal before or after", async () => {
    expect(await readStoredBundles(container([file("typical")]), "/d/bundles.sqlite3")).toEqual(expected("typical"));
  });

  it("a missing file is reported, as SQLite's reader does", async () => {
    expect(await readStoredBundles(container([undefined]), "/d/bundles.sqlite3")).toEqual({ exists: false, bundles: [], activations: [] });
  });

  it("reads again while a write is under way (a journal, or two reads that differ), and leaves it to SQLite when that never ends", async () => {
    expect(await readStoredBundles(container([file("empty"), file("typical"), file("typical")]), "/d/b")).toEqual(expected("typical"));
    expect(await readStoredBundles(container([file("empty")], [true, true, false, false]), "/d/b")).toEqual(expected("empty"));
    expect(await readStoredBundles(container([file("empty")], [false, true, false]), "/d/b")).toEqual(expected("empty"));
    expect(await readStoredBundles(container([file("empty")], [true]), "/d/b", 3)).toBeUndefined();
  });

  it("a -wal file with bytes beside the file, before or after the reads, is left to SQLite; an empty one is not", async () => {
    expect(await readStoredBundles(container([file("wal-pending")], [], [file("wal-pending", "-wal")]), "/d/b")).toBeUndefined();
    expect(await readStoredBundles(container([file("wal-pending")], [], [undefined, file("wal-pending", "-wal")]), "/d/b")).toBeUndefined();
    expect(await readStoredBundles(container([file("wal")], [], [Buffer.alloc(0)]), "/d/b")).toEqual(expected("wal"));
  });

  it("what sql.js does not answer exactly is left to SQLite", async () => {
    expect(await readStoredBundles(container([file("blob-name")]), "/d/b")).toBeUndefined();
    expect(await readStoredBundles(container([file("no-activations")]), "/d/b")).toBeUndefined();
  });
});
