import { DistcheckError } from "../errors/distcheck-error.ts";
import type { HostAdapter } from "./host-adapter.ts";
import { ReferenceHostAdapter } from "./reference-host-adapter.ts";
import { ToposyncHostAdapter } from "./toposync-host-adapter.ts";

const ADAPTERS: Record<string, () => HostAdapter> = {
  reference: () => new ReferenceHostAdapter(),
  toposync: () => new ToposyncHostAdapter(),
};

/** Adapter ids `matrix.hosts[].adapter` may name. */
export const HOST_ADAPTER_IDS: readonly string[] = Object.keys(ADAPTERS);

const cache = new Map<string, HostAdapter>();

/** The adapter of this id; an unknown id is an input error that lists the valid ones. */
export function hostAdapter(id: string): HostAdapter {
  const factory = ADAPTERS[id];
  if (!factory) throw new DistcheckError("host_adapter_unknown", `Unknown host adapter ${JSON.stringify(id)}; valid adapters: ${HOST_ADAPTER_IDS.join(", ")}.`, { category: "input" });
  let adapter = cache.get(id);
  if (!adapter) cache.set(id, (adapter = factory()));
  return adapter;
}
