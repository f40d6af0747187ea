import type { HostHttp } from "./host-adapter.ts";

/**
 * DIR in contract terms (hosts/reference/SEED-SYSTEMS.md): the plugins a host discovered from its
 * plugin directories and from wheels, and the permissions they registered.
 */

/** One discovered plugin as the host reports it. */
export interface DiscoveredPlugin {
  name: string;
  version: string;
  display_name?: string | null;
  source: "directory" | "wheel";
  path: string;
  routers: string[];
  routes: Array<{ method: string; path: string }>;
  permissions: string[];
  nav?: unknown;
  seed_groups?: unknown;
  frontend_entry?: string | null;
  dbt_workspace?: string | null;
  warnings: string[];
}

export interface PluginDirectoryApi {
  /** The entry point group the host discovers wheel plugins in (DIR-03: a `*.plugins` group). */
  readonly group: string;
  plugins(): Promise<DiscoveredPlugin[]>;
  permissions(): Promise<Array<{ permission: string; plugin: string }>>;
}

/** The reference host's DIR API. */
export class ReferencePluginDirectory implements PluginDirectoryApi {
  /** INTERFACE.md, configuration `plugin_group`. */
  readonly group = "distcheck.plugins";

  constructor(private readonly http: HostHttp) {}

  plugins(): Promise<DiscoveredPlugin[]> {
    return this.http.get("/api/plugins");
  }

  permissions(): Promise<Array<{ permission: string; plugin: string }>> {
    return this.http.get("/api/permissions");
  }
}
