import type { HostHttp } from "./host-adapter.ts";

/** KRN in contract terms (hosts/reference/SEED-SYSTEMS.md): kernel plugins and their endpoints. */

export interface KernelPlugin {
  name: string;
  domain: string;
  module: string;
  state: "booted" | "failed" | string;
  error?: string | null;
  endpoints: Array<{ method: string; path: string }>;
}

export interface KernelApi {
  plugins(): Promise<KernelPlugin[]>;
  /** The host path of an endpoint a plugin registered at `path` (e.g. `/products` → `/kernel/products`). */
  endpointPath(path: string): string;
}

/** The reference host's KRN API. */
export class ReferenceKernel implements KernelApi {
  constructor(private readonly http: HostHttp) {}

  plugins(): Promise<KernelPlugin[]> {
    return this.http.get("/api/kernel/plugins");
  }

  endpointPath(path: string): string {
    return `/kernel${path}`;
  }
}
