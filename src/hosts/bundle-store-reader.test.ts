import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readStoredBundles, storedBundlesOf } from "./bundle-store-reader.ts";
import type { HostHttp } from "./host-adapter.ts";
import { parseColumns, SqliteUnreadable } from "./sqlite-file-reader.ts";

// Each file was written by SQLite (make-bundle-stores.py) and answered by bundle-wire.ts's
// READ_STORE_PY, SQLite's own reading: the native reader must give exactly that answer, or refuse.
const DIR = path.join(import.meta.dirname, "__fixtures__", "bundle-stores");
const file = (name: string): Buffer => readFileSync(path.join(DIR, `${name}.sqlite3`));
const expected = (name: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(DIR, `${name}.expected.json`), "utf8")) as Record<string, unknown>;

describe("the bundle database read from its bytes", () => {
  for (const name of ["empty", "typical", "large", "altered", "real-version"]) {
    it(`${name}: the same rows, order and values as SQLite's answer`, () => {
      expect(storedBundlesOf(file(name))).toEqual(expected(name));
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

  for (const name of ["wal", "utf16", "blob-name", "no-activations"]) {
    it(`${name}: refused, so SQLite answers (${JSON.stringify(expected(name)).slice(0, 60)})`, () => {
      expect(() => storedBundlesOf(file(name))).toThrow(SqliteUnreadable);
    });
  }

  it("a file cut short or not SQLite at all is refused", () => {
    expect(() => storedBundlesOf(file("typical").subarray(0, 8192))).toThrow(SqliteUnreadable);
    expect(() => storedBundlesOf(Buffer.from("not a database"))).toThrow(SqliteUnreadable);
  });

  it("column names come from CREATE TABLE, the INTEGER PRIMARY KEY is the rowid, table constraints are no columns", () => {
    expect(parseColumns('CREATE TABLE t (id INTEGER PRIMARY KEY, "a b" TEXT, [c] INT DEFAULT (1), `d`, e TEXT CHECK (e IN (\'x\', \'y\')), UNIQUE (a, c))')).toEqual({ columns: ["id", "a b", "c", "d", "e"], rowidAlias: 0 });
    expect(parseColumns("CREATE TABLE t (x TEXT, id INTEGER PRIMARY KEY DESC)").rowidAlias).toBe(-1);
    expect(() => parseColumns("CREATE TABLE t (a) WITHOUT ROWID")).toThrow(SqliteUnreadable);
  });
});

describe("reading the bundle database through the container", () => {
  /** A container seam: the file's successive reads, and whether a journal is there at each look. */
  function container(reads: Array<Buffer | undefined>, journal: boolean[] = []): HostHttp & { looks: number } {
    let read = 0;
    const seam = {
      looks: 0,
      get: async () => undefined as never,
      raw: async () => ({ statusCode: 500, body: "", headers: {} }),
      exec: async () => ({ exitCode: 1, stdout: "", stderr: "" }),
      readFileIfExists: async () => reads[Math.min(read++, reads.length - 1)],
      exists: async () => journal[Math.min(seam.looks++, Math.max(journal.length - 1, 0))] ?? false,
    };
    return seam;
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

  it("what it does not read exactly is left to SQLite", async () => {
    expect(await readStoredBundles(container([file("wal")]), "/d/b")).toBeUndefined();
    expect(await readStoredBundles(container([file("blob-name")]), "/d/b")).toBeUndefined();
  });
});
