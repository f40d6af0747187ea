import type { HostHttp } from "./host-adapter.ts";

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
}

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
}
