import { createRequire } from "node:module";
import { TextDecoder } from "node:util";
import initSqlJs, { type Database, type SqlJsStatic, type SqlValue } from "sql.js";
import { InfrastructureError } from "../errors/distcheck-error.ts";
import type { HostHttp } from "./host-adapter.ts";
import type { StoredBundles } from "./bundle-wire.ts";
import { ACTIVATIONS_QUERY, BUNDLES_QUERY, selectOf, type StoreQuery } from "./bundle-store-queries.ts";

/** The file holds something whose answer here could differ from SQLite's in the container (or SQLite would fail): ask SQLite there. */
export class SqliteUnreadable extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = "SqliteUnreadable";
  }
}

const require = createRequire(import.meta.url);
let loading: Promise<SqlJsStatic> | undefined;

/** sql.js's SQLite, compiled once per process on first use from the .wasm in node_modules (no network). */
function sqlJs(): Promise<SqlJsStatic> {
  loading ??= initSqlJs({ locateFile: (file: string) => require.resolve(`sql.js/dist/${file}`) }).catch((error: unknown) => {
    loading = undefined;
    throw new InfrastructureError(
      "sqlite_wasm_unavailable",
      `sql.js could not load SQLite's WebAssembly from node_modules/sql.js/dist: ${error instanceof Error ? error.message : String(error)}. Reinstall distcheck's dependencies with \`npm ci\`.`,
      { cause: error },
    );
  });
  return loading;
}

/** A statement's rows; SQLite's own refusal (no such table, not a database, malformed) becomes SqliteUnreadable. */
function rowsOf(db: Database, sql: string): SqlValue[][] {
  try {
    return db.exec(sql)[0]?.values ?? [];
  } catch (error) {
    throw new SqliteUnreadable(`SQLite refused \`${sql}\`: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * Runs one of READ_STORE_PY's statements with, for each selected expression, its storage class
 * (`typeof`) and its bytes (`CAST AS BLOB`: TEXT in the database's encoding, an INTEGER as its
 * decimal text) instead of the value sql.js would decode (its decoder drops a leading U+FEFF and
 * writes U+FFFD for bytes that are not UTF-8, where Python keeps the one and refuses the other).
 * The FROM, joins and ORDER BY are the statement's own, so the rows and their order are SQLite's.
 */
function select(db: Database, query: StoreQuery, text: TextDecoder): Array<Record<string, string | number | null>> {
  const sql = selectOf(query, query.columns.flatMap((c) => [`typeof(${c})`, `CAST(${c} AS BLOB)`]));
  return rowsOf(db, sql).map((row) =>
    Object.fromEntries(query.keys.map((key, i) => [key, jsonValue(row[2 * i] as string, row[2 * i + 1] as Uint8Array | null, text, `${query.columns[i]} in \`${sql}\``)])),
  );
}

/**
 * A value as JSON.parse reads what Python's json.dumps writes of what sqlite3 returned for it. TEXT
 * is decoded strictly (Python's sqlite3 fails on TEXT that is not UTF-8), an INTEGER only within
 * 2^53 (JSON.parse rounds beyond), a REAL or a BLOB never (json.dumps fails on bytes; a REAL is not
 * what the store holds and is left to SQLite rather than reasoned about).
 */
function jsonValue(type: string, bytes: Uint8Array | null, text: TextDecoder, what: string): string | number | null {
  if (type === "null") return null;
  if (type === "text" || type === "integer") {
    let decoded: string;
    try {
      decoded = text.decode(bytes ?? new Uint8Array());
    } catch (error) {
      throw new SqliteUnreadable(`${what} holds TEXT that is not ${text.encoding}`, { cause: error });
    }
    if (type === "text") return decoded;
    const n = BigInt(decoded);
    if (n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(n);
  }
  throw new SqliteUnreadable(`${what} holds ${type === "integer" ? "an INTEGER beyond 2^53" : `a ${type.toUpperCase()}`}`);
}

/**
 * What the reference host's bundle database holds, from the file's bytes alone (a `-wal` file's
 * frames are not in them: see readStoredBundles): the answer READ_STORE_PY gives in the container,
 * from the same statements run by SQLite compiled to WebAssembly (sql.js) on an in-memory copy.
 * Throws SqliteUnreadable where that answer could differ or SQLite would fail.
 */
export async function storedBundlesOf(bytes: Uint8Array): Promise<StoredBundles> {
  const SQL = await sqlJs();
  let db: Database;
  try {
    db = new SQL.Database(bytes);
  } catch (error) {
    throw new SqliteUnreadable(`SQLite could not open the file: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  try {
    const encoding = rowsOf(db, "PRAGMA encoding")[0]?.[0];
    if (encoding !== "UTF-8" && encoding !== "UTF-16le" && encoding !== "UTF-16be") throw new SqliteUnreadable(`text encoding ${String(encoding)}`);
    // SQLite hands Python a UTF-16 database's TEXT converted to UTF-8; well-formed UTF-16 converts to the same characters.
    const text = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
    return { exists: true, bundles: select(db, BUNDLES_QUERY, text), activations: select(db, ACTIVATIONS_QUERY, text) } as StoredBundles;
  } finally {
    db.close();
  }
}

/** Whether SQLite opening `file` would also read a `-wal` file beside it (one with any bytes). */
async function walInUse(http: HostHttp, file: string): Promise<boolean> {
  return ((await http.readFileIfExists(`${file}-wal`))?.length ?? 0) > 0;
}

/**
 * The bundle database read through the Engine API (no process in the container), or undefined when
 * only SQLite there can answer exactly: a `-wal` file is beside it (SQLite reads committed frames
 * from it, which the file's bytes alone lack, and a WAL database keeps it while the host has it
 * open, so waiting does not help), a write was under way every time it looked (its rollback journal
 * was there, or two reads differed), or the file holds what storedBundlesOf does not answer. A
 * rollback-journal writer creates the journal before it touches the file and removes it after, and
 * every commit rewrites page 1 first: no journal before and after two identical reads means no
 * commit overlapped them.
 */
export async function readStoredBundles(http: HostHttp, file: string, attempts = 10): Promise<StoredBundles | undefined> {
  const journal = `${file}-journal`;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 20 * i));
    if (await walInUse(http, file)) return undefined;
    if (await http.exists(journal)) continue;
    // The second read is the first's bytes again when a stat finds the file as it was during the
    // first (size, mode, mtime in nanoseconds; ReadOptions.reuseIfUnchanged): a commit moves its mtime.
    const first = await http.readFileIfExists(file, { reuseIfUnchanged: true });
    const second = first === undefined ? undefined : await http.readFileIfExists(file, { reuseIfUnchanged: true });
    if (await http.exists(journal)) continue;
    if (await walInUse(http, file)) return undefined;
    if (first === undefined) return { exists: false, bundles: [], activations: [] };
    if (second === undefined || !first.equals(second)) continue;
    try {
      return await storedBundlesOf(first);
    } catch (error) {
      if (error instanceof SqliteUnreadable) return undefined;
      throw error;
    }
  }
  return undefined;
}
