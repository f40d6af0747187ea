import type { HostHttp } from "./host-adapter.ts";
import type { ListedPlugin } from "../oracle/plugin-directory-judge.ts";

/**
 * DIR in contract terms (hosts/reference/SEED-SYSTEMS.md): the plugins a host discovered from its
 * plugin directories and from wheels, and the permissions they registered.
 */

/** One discovered plugin as the host reports it (the judge's type: the oracle compares exactly this). */
export type DiscoveredPlugin = ListedPlugin;

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
