import type { HostHttp } from "./host-adapter.ts";
import type { StoredBundles } from "./bundle-wire.ts";
import { SqliteFile, SqliteUnreadable, type SqliteValue } from "./sqlite-file-reader.ts";

/** A selected value as Python's json.dumps of what sqlite3 returned would write it; anything else is left to SQLite. */
function jsonValue(v: SqliteValue, what: string): string | number | null {
  if (v === null || typeof v === "string") return v;
  if (typeof v === "bigint" && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(v);
  throw new SqliteUnreadable(`${what} holds a ${Buffer.isBuffer(v) ? "BLOB" : typeof v === "number" ? "REAL" : "large integer"}`);
}

/** SQLite's ORDER BY on one column: NULL, then numbers, then TEXT by its UTF-8 bytes (BINARY), then BLOB. */
function compareSqlite(a: string | number | null, b: string | number | null): number {
  const rank = (v: string | number | null): number => (v === null ? 0 : typeof v === "number" ? 1 : 2);
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
  return 0;
}

/**
 * What the reference host's bundle database holds, from the file's bytes: the same answer as
 * `SELECT name, version, state FROM extensions ORDER BY name` and the activations joined to their
 * bundle's name `ORDER BY a.id` (bundle-wire.ts, READ_STORE_PY). Throws SqliteUnreadable for
 * anything it cannot answer exactly as SQLite would.
 */
export function storedBundlesOf(bytes: Buffer): StoredBundles {
  const db = new SqliteFile(bytes);
  // SQLite would fail the query: let it say so in its own words.
  for (const t of ["extensions", "extension_activations"]) if (!db.hasTable(t)) throw new SqliteUnreadable(`no table ${t}`);
  const extensions = db.rows("extensions");
  const names = new Map(extensions.map((r) => [r.rowid, r.values.name ?? null]));
  const bundles = extensions
    .map((r) => ({ rowid: r.rowid, row: { name: jsonValue(r.values.name ?? null, "extensions.name"), version: jsonValue(r.values.version ?? null, "extensions.version"), state: jsonValue(r.values.state ?? null, "extensions.state") } }))
    // The UNIQUE index on name gives the order; NULL names (UNIQUE lets several through) keep rowid order.
    .sort((a, b) => compareSqlite(a.row.name, b.row.name) || (a.rowid < b.rowid ? -1 : a.rowid > b.rowid ? 1 : 0))
    .map((r) => r.row);
  const activations = db.rows("extension_activations").map((a) => {
    const id = a.values.extension_id;
    return {
      name: jsonValue(typeof id === "bigint" ? (names.get(id) ?? null) : null, "extensions.name"),
      activated_at: jsonValue(a.values.activated_at ?? null, "extension_activations.activated_at"),
      deactivated_at: jsonValue(a.values.deactivated_at ?? null, "extension_activations.deactivated_at"),
      activation_error: jsonValue(a.values.activation_error ?? null, "extension_activations.activation_error"),
    };
  });
  return { exists: true, bundles, activations } as StoredBundles;
}

/**
 * The bundle database read through the Engine API (no process in the container), or undefined when
 * only SQLite can answer exactly: a write was under way every time it looked (its rollback journal
 * was there, or two reads differed), or the file holds what storedBundlesOf does not read. A
 * rollback-journal writer creates the journal before it touches the file and removes it after, and
 * every commit rewrites page 1 first: no journal before and after two identical reads means no
 * commit overlapped them.
 */
export async function readStoredBundles(http: HostHttp, file: string, attempts = 10): Promise<StoredBundles | undefined> {
  const journal = `${file}-journal`;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 20 * i));
    if (await http.exists(journal)) continue;
    const first = await http.readFileIfExists(file);
    const second = first === undefined ? undefined : await http.readFileIfExists(file);
    if (await http.exists(journal)) continue;
    if (first === undefined) return { exists: false, bundles: [], activations: [] };
    if (second === undefined || !first.equals(second)) continue;
    try {
      return storedBundlesOf(first);
    } catch (error) {
      if (error instanceof SqliteUnreadable) return undefined;
      throw error;
    }
  }
  return undefined;
}
