import type { HostHttp } from "./host-adapter.ts";
import { readStoredBundles } from "./bundle-store-reader.ts";
import { ACTIVATIONS_QUERY, BUNDLES_QUERY, selectOf } from "./bundle-store-queries.ts";

/**
 * BND in contract terms (hosts/reference/SEED-SYSTEMS.md): bundles imported over HTTP and their
 * lifecycle states.
 */

export interface BundleRecord {
  name: string;
  version: string;
  state: string;
  activation_error?: string | null;
}

export interface BundleDetail extends BundleRecord {
  frontend_entry?: string | null;
  backend_modules: string[];
  capabilities?: unknown;
  activations: Array<{ activated_at: string | null; deactivated_at: string | null; activation_error: string | null }>;
  commands: string[];
  routes: Array<{ method: string; path: string }>;
}

/** What the host's bundle database holds, read from the file itself (not through the API). */
export interface StoredBundles {
  /** Whether the database file exists. */
  exists: boolean;
  bundles: Array<{ name: string; version: string; state: string }>;
  /** Every activation record, oldest first, with the name of its bundle. */
  activations: Array<{ name: string | null; activated_at: string | null; deactivated_at: string | null; activation_error: string | null }>;
}

/** An answer of the host: status and JSON body. */
export interface BundleAnswer<T> {
  status: number;
  body: T;
}

export interface BundleApi {
  /** Uploads a bundle's zip bytes to the import endpoint. */
  importBundle(zip: Buffer): Promise<BundleAnswer<Record<string, unknown>>>;
  activate(name: string): Promise<BundleAnswer<Record<string, unknown>>>;
  deactivate(name: string): Promise<BundleAnswer<Record<string, unknown>>>;
  list(): Promise<BundleRecord[]>;
  /** null when the host knows no bundle of that name. */
  detail(name: string): Promise<BundleDetail | null>;
  /** The URL path at which the host serves a route a bundle registered at `path`. */
  routePath(name: string, path: string): string;
  /** The bundle database's files in a data directory (the only thing an import may add there besides stored bundles). */
  databaseFiles(dataDir: string): string[];
  /** What the bundle database in a data directory holds, read in the host's container. */
  stored(dataDir: string): Promise<StoredBundles>;
}

/**
 * Reads the reference host's SQLite file read-only (a missing file is reported, never created) with
 * the statements of bundle-store-queries.ts: the oracle of bundle-store-reader.ts (sql.js on the
 * file's bytes), and what answers when that cannot answer exactly.
 */
export const READ_STORE_PY = `
import json, os, sqlite3, sys
path = sys.argv[1]
if not os.path.exists(path):
    print(json.dumps({"exists": False, "bundles": [], "activations": []}))
    sys.exit(0)
db = sqlite3.connect("file:" + path + "?mode=ro", uri=True)
bundles = [dict(zip(${JSON.stringify(BUNDLES_QUERY.keys)}, r)) for r in db.execute(${JSON.stringify(selectOf(BUNDLES_QUERY))})]
activations = [dict(zip(${JSON.stringify(ACTIVATIONS_QUERY.keys)}, r)) for r in db.execute(${JSON.stringify(selectOf(ACTIVATIONS_QUERY))})]
print(json.dumps({"exists": True, "bundles": bundles, "activations": activations}))
`;

/** The reference host's BND API. */
export class ReferenceBundles implements BundleApi {
  constructor(private readonly http: HostHttp) {}

  private async call<T>(method: string, path: string, body?: Buffer): Promise<BundleAnswer<T>> {
    const r = await this.http.raw(method, path, body);
    return { status: r.statusCode, body: (r.body ? JSON.parse(r.body) : null) as T };
  }

  importBundle(zip: Buffer): Promise<BundleAnswer<Record<string, unknown>>> {
    return this.call("POST", "/api/bundles/import", zip);
  }

  activate(name: string): Promise<BundleAnswer<Record<string, unknown>>> {
    return this.call("POST", `/api/bundles/${encodeURIComponent(name)}/activate`);
  }

  deactivate(name: string): Promise<BundleAnswer<Record<string, unknown>>> {
    return this.call("POST", `/api/bundles/${encodeURIComponent(name)}/deactivate`);
  }

  list(): Promise<BundleRecord[]> {
    return this.http.get("/api/bundles");
  }

  async detail(name: string): Promise<BundleDetail | null> {
    const r = await this.call<BundleDetail>("GET", `/api/bundles/${encodeURIComponent(name)}`);
    return r.status === 404 ? null : r.body;
  }

  /** INTERFACE.md, "Bundles (BND)": `/bundles/<name><path>`. */
  routePath(name: string, path: string): string {
    return `/bundles/${encodeURIComponent(name)}${path}`;
  }

  /** `<data_dir>/bundles.sqlite3` and the journal SQLite keeps beside it while it writes. */
  databaseFiles(dataDir: string): string[] {
    const db = `${dataDir.replace(/\/+$/, "")}/bundles.sqlite3`;
    return [db, `${db}-journal`, `${db}-wal`, `${db}-shm`];
  }

  async stored(dataDir: string): Promise<StoredBundles> {
    // The file through the Engine API; SQLite itself, in the container, only when that cannot answer exactly.
    const native = await readStoredBundles(this.http, this.databaseFiles(dataDir)[0]!);
    if (native) return native;
    const r = await this.http.exec(["python3", "-c", READ_STORE_PY, this.databaseFiles(dataDir)[0]!]);
    if (r.exitCode !== 0) throw new Error(`reading the bundle database in ${dataDir} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as StoredBundles;
  }
}
