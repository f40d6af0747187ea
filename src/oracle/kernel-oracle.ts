import { KERNEL_DEPENDENCIES, type KernelEndpointDeclaration, type KernelExpectation, type KernelPluginDeclaration } from "../fixtures/declarations/kernel-declaration.ts";
import { kernelModulePath } from "../fixtures/kernel/kernel-renderer.ts";
import { OracleError } from "./oracle-error.ts";

/**
 * The KRN oracle: from kernel plugin declarations alone (fixtures/kernel/*.json), what a plugin
 * kernel does with them (CONTRACT.md KRN-01..02, hosts/reference/SEED-SYSTEMS.md "KRN"): which
 * plugins boot, the diagnostic of each broken one and what its message must name, and, for a fixed
 * order of requests, each endpoint's status, envelope and the thread its handler must run on.
 */

/** Where a handler runs (SEED-SYSTEMS.md): async ones on the kernel's loop, sync ones in its pool. */
export type KernelThread = "loop" | "pool";

/** The thread names of each (SEED-SYSTEMS.md); neither is ever the HTTP server's thread. */
export const KERNEL_THREAD_NAMES: Readonly<Record<KernelThread, RegExp>> = {
  loop: /^kernel-loop$/,
  pool: /^kernel-pool-\d+$/,
};

export type KernelDiagnosticCode = NonNullable<KernelExpectation["diagnostic"]>;

export interface KernelPluginPrediction {
  fixture: string;
  /** Class name: the plugin's name in the kernel's listing (null when its module never imported). */
  name: string;
  domain: string;
  /** Module file under the kernel root. */
  file: string;
  /** `booted`, `failed` (listed, with an error), or `not-loaded` (its module did not import: not listed). */
  state: KernelExpectation["state"];
  /** The booted plugin's endpoints, in registration order (none for a plugin that failed). */
  endpoints: Array<{ method: string; path: string }>;
  /** Each constructor parameter → the dependency injected into it (its own name: injection is by name). */
  injected: Record<string, string>;
}

export interface KernelDiagnosticPrediction {
  fixture: string;
  code: KernelDiagnosticCode;
  /** The plugin the diagnostic is about (its class name); null for a module that did not import. */
  plugin: string | null;
  /** Texts the diagnostic's message must contain. */
  mustName: string[];
}

/** What the kernel answers to one request. */
export interface KernelAnswerPrediction {
  status: number;
  /** The whole envelope when `data` is null or known; for data with a thread name, see `thread`. */
  envelope: { success: boolean; data: unknown; error: string | null };
  /** The data's `thread` must match KERNEL_THREAD_NAMES[thread]; `envelope.data` leaves it out. Null when the answer has no data. */
  thread: KernelThread | null;
}

/** One request the suite makes, in order, and what it must get. */
export interface KernelCall {
  fixture: string;
  /** `<METHOD> <path>`, unique. */
  key: string;
  method: string;
  /** The path the plugin registered (the host serves it under its kernel prefix). */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  /** Whether the endpoint is served at all: false for endpoints of a plugin that did not boot (404). */
  served: boolean;
  /** Null when not served. */
  expected: KernelAnswerPrediction | null;
  handler: "async" | "sync";
  reply: KernelEndpointDeclaration["reply"]["kind"];
}

export interface KernelPublication {
  topic: string;
  payload: unknown;
  /** The publishing plugin's class name. */
  publisher: string;
}

export interface KernelPrediction {
  /** Every declaration, in the order the kernel loads them: by domain, then module file. */
  plugins: KernelPluginPrediction[];
  diagnostics: KernelDiagnosticPrediction[];
  /** Every endpoint of every declaration, in the order the suite must call them (publications before what they are read by). */
  calls: KernelCall[];
  /** The event bus publications the calls make, in order. */
  publications: KernelPublication[];
  /** Each broken declaration → the booted plugins loaded after it (a kernel that stopped at it would lose them). */
  bootedAfter: Record<string, string[]>;
}

const KNOWN = new Set<string>(KERNEL_DEPENDENCIES);

function loadOrder(declarations: readonly KernelPluginDeclaration[]): KernelPluginDeclaration[] {
  // The kernel sorts domain folders, then the files in each (a byte-wise sort of ASCII names).
  const key = (d: KernelPluginDeclaration): [string, string] => [d.domain, `${d.module}.py`];
  return [...declarations].sort((a, b) => {
    const [da, ma] = key(a);
    const [db, mb] = key(b);
    return da < db ? -1 : da > db ? 1 : ma < mb ? -1 : ma > mb ? 1 : 0;
  });
}

/** Where a declaration's plugin ends up, and the diagnostic that says why when it does not boot. */
function fate(d: KernelPluginDeclaration): { state: KernelPluginPrediction["state"]; diagnostic: KernelDiagnosticPrediction | null } {
  const file = kernelModulePath(d);
  if (d.failure.at === "import") {
    return { state: "not-loaded", diagnostic: { fixture: d.name, code: "kernel_module_failed", plugin: null, mustName: [file, "ModuleNotFoundError", d.failure.missingModule] } };
  }
  const unknown = d.constructor.filter((p) => !KNOWN.has(p));
  if (unknown.length > 0) {
    return { state: "failed", diagnostic: { fixture: d.name, code: "kernel_unknown_dependency", plugin: d.plugin, mustName: [...unknown, d.plugin, ...KERNEL_DEPENDENCIES] } };
  }
  if (d.failure.at === "constructor" || d.failure.at === "on_boot") {
    const code = d.failure.at === "constructor" ? "kernel_plugin_failed" : "kernel_boot_failed";
    return { state: "failed", diagnostic: { fixture: d.name, code, plugin: d.plugin, mustName: [d.plugin, `${d.failure.type}: ${d.failure.message}`] } };
  }
  return { state: "booted", diagnostic: null };
}

/** The data a handler gets: the query of a GET, else the JSON body. */
function dataOf(e: KernelEndpointDeclaration): unknown {
  return "query" in e.request ? e.request.query : e.request.body;
}

function answer(
  d: KernelPluginDeclaration,
  e: KernelEndpointDeclaration,
  received: (d: KernelPluginDeclaration, topic: string) => unknown[],
  rows: (table: string, value: unknown) => unknown[],
): KernelAnswerPrediction {
  const status = e.setStatus ?? 200;
  const thread: KernelThread = e.handler === "async" ? "loop" : "pool";
  const ok = (fields: Record<string, unknown>): KernelAnswerPrediction => ({ status, envelope: { success: true, data: { fixture: d.name, ...fields }, error: null }, thread });
  const r = e.reply;
  switch (r.kind) {
    case "raise":
      return { status, envelope: { success: false, data: null, error: `${r.type}: ${r.message}` }, thread: null };
    case "fail":
      return { status, envelope: { success: false, data: null, error: r.message }, thread: null };
    case "echo":
      return ok({ received: dataOf(e), dependencies: Object.fromEntries(d.constructor.map((p) => [p, p])) });
    case "publish":
      return ok({ published: r.topic });
    case "received":
      return ok({ received: received(d, r.topic) });
    case "db":
      return ok({ rows: rows(r.table, dataOf(e)) });
  }
}

/**
 * Predicts what a kernel with exactly these plugin modules under its root does, and what each
 * endpoint answers when the suite calls every endpoint once in `calls` order.
 */
export function predictKernel(declarations: readonly KernelPluginDeclaration[]): KernelPrediction {
  const ordered = loadOrder(declarations);
  const plugins: KernelPluginPrediction[] = [];
  const diagnostics: KernelDiagnosticPrediction[] = [];
  const booted = new Set<string>();
  for (const d of ordered) {
    const f = fate(d);
    if (f.state === "booted") booted.add(d.name);
    if (f.diagnostic) diagnostics.push(f.diagnostic);
    plugins.push({
      fixture: d.name,
      name: d.plugin,
      domain: d.domain,
      file: kernelModulePath(d),
      state: f.state,
      endpoints: f.state === "booted" ? d.endpoints.map((e) => ({ method: e.method, path: e.path })) : [],
      injected: Object.fromEntries(d.constructor.filter((p) => KNOWN.has(p)).map((p) => [p, p])),
    });
  }
  const bootedAfter: Record<string, string[]> = {};
  ordered.forEach((d, i) => {
    if (!booted.has(d.name)) bootedAfter[d.name] = ordered.slice(i + 1).filter((o) => booted.has(o.name)).map((o) => o.plugin);
  });

  // Calls: everything but `received` replies first (in load order), then the `received` ones, so
  // every publication has happened before a subscriber is asked what it heard.
  const endpoints = ordered.flatMap((d) => d.endpoints.map((e) => ({ d, e })));
  const sequence = [...endpoints.filter(({ e }) => e.reply.kind !== "received"), ...endpoints.filter(({ e }) => e.reply.kind === "received")];
  const publications: KernelPublication[] = [];
  const tables = new Map<string, unknown[]>();
  const received = (d: KernelPluginDeclaration, topic: string): unknown[] =>
    d.subscriptions.some((s) => s.topic === topic) ? publications.filter((p) => p.topic === topic).map((p) => p.payload) : [];
  const rows = (table: string, value: unknown): unknown[] => {
    const list = [...(tables.get(table) ?? []), value];
    tables.set(table, list);
    return list;
  };
  const calls: KernelCall[] = sequence.map(({ d, e }) => {
    const served = booted.has(d.name);
    const expected = served ? answer(d, e, received, rows) : null;
    if (served && e.reply.kind === "publish") publications.push({ topic: e.reply.topic, payload: dataOf(e), publisher: d.plugin });
    return {
      fixture: d.name,
      key: `${e.method} ${e.path}`,
      method: e.method,
      path: e.path,
      ...("query" in e.request ? { query: e.request.query } : { body: e.request.body }),
      served,
      expected,
      handler: e.handler,
      reply: e.reply.kind,
    };
  });
  const keys = new Set<string>();
  for (const c of calls) {
    if (keys.has(c.key)) throw new OracleError("oracle_input_invalid", `two kernel fixtures declare ${c.key}; the kernel would refuse the second (checkKernelSet catches this when declarations come from the loader)`);
    keys.add(c.key);
  }
  return { plugins, diagnostics, calls, publications, bootedAfter };
}
