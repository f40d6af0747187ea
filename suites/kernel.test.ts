import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import type { FileToPut } from "../src/containers/cell-container.ts";
import { KERNEL_DEPENDENCIES, loadKernelDeclarations } from "../src/fixtures/declarations/kernel-declaration.ts";
import { renderKernelPlugins } from "../src/fixtures/kernel/kernel-renderer.ts";
import type { BootedHost } from "../src/hosts/booted-host.ts";
import type { HostDiagnostic, HostEvent } from "../src/hosts/host-wire.ts";
import type { KernelPlugin } from "../src/hosts/kernel-wire.ts";
import type { Cell } from "../src/matrix/matrix.ts";
import { answerProblems, diagnosticProblems, pluginProblems, reportedThread, type KernelAnswer } from "../src/oracle/kernel-judge.ts";
import { KERNEL_THREAD_NAMES, predictKernel, type KernelCall } from "../src/oracle/kernel-oracle.ts";
import { PROJECT_ROOT, suiteCells } from "./support/cells.ts";
import { attachOnFailure, bootHost, scaledTimeout } from "./support/host.ts";

// The plugin kernel (KRN-01..02). Every sample plugin of fixtures/kernel is rendered into one kernel
// root; one host per cell boots them all at once (a broken plugin must not disturb the others, which
// is what KRN-01 says). The suite then calls every endpoint once, in the oracle's order (publications
// before the subscribers are asked what they heard), and judges the answers against the oracle
// (src/oracle/kernel-oracle.ts), which reads the declarations only.
const cells = suiteCells("kernel");
const declarations = await loadKernelDeclarations(path.join(PROJECT_ROOT, "fixtures"));
const prediction = predictKernel(declarations);

/** Where the suite puts the plugins in the container; the host is told through the `kernelRoot` setting. */
const KERNEL_ROOT = "/opt/distcheck-kernel-fixtures";
const extraFiles: FileToPut[] = [...renderKernelPlugins(declarations)].map(([rel, content]) => ({ target: `${KERNEL_ROOT}/${rel}`, content }));

const served = prediction.calls.filter((c) => c.served);
const callsWhere = (f: (c: KernelCall) => boolean): KernelCall[] => served.filter(f);
const broken = prediction.plugins.filter((p) => p.state !== "booted");

function parse(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

async function send(host: BootedHost, call: KernelCall): Promise<KernelAnswer> {
  const query = call.query && Object.keys(call.query).length > 0 ? `?${new URLSearchParams(call.query).toString()}` : "";
  const r = await host.raw(call.method, `${host.kernel.endpointPath(call.path)}${query}`, call.query ? undefined : call.body);
  return { status: r.statusCode, body: parse(r.body) };
}

describe.concurrent.each(cells)("kernel on $id", (cell: Cell) => {
  let host: BootedHost | undefined;
  let plugins: KernelPlugin[] = [];
  let diagnostics: HostDiagnostic[] = [];
  let events: HostEvent[] | undefined;
  const answers = new Map<string, KernelAnswer>();

  beforeAll(async () => {
    host = await bootHost(cell, { extraFiles, settings: { kernelRoot: KERNEL_ROOT } });
    plugins = await host.kernel.plugins();
    diagnostics = await host.diagnostics();
    // One call each, in order: what subscribers heard and what the db holds depend on it.
    for (const call of prediction.calls) answers.set(call.key, await send(host, call));
    if (host.adapter.events) events = (await host.events()).filter((e) => e.event === "kernel_event");
  }, scaledTimeout(cell, 240_000));

  afterAll(async () => {
    await host?.[Symbol.asyncDispose]();
  });

  const diagnose = (ctx: TestContext): void =>
    attachOnFailure(ctx, () => host, async () => ({ "kernel plugins": plugins, diagnostics, answers: Object.fromEntries(answers), "kernel events": events, prediction }));
  const answerOf = (call: KernelCall): KernelAnswer => {
    const a = answers.get(call.key);
    if (!a) throw new Error(`no answer recorded for ${call.key}: the suite's setup did not reach it`);
    return a;
  };
  const problemsOf = (calls: KernelCall[]): string[] => calls.flatMap((c) => answerProblems(c, answerOf(c)));

  it("KRN-01: every plugin whose dependencies are known boots, in load order, with the endpoints its on_boot registered", async (ctx) => {
    diagnose(ctx);
    expect(prediction.plugins.filter((p) => p.state === "booted").length).toBeGreaterThanOrEqual(3);
    expect(pluginProblems(prediction, plugins)).toEqual([]);
  });

  it("KRN-01: constructor dependencies are injected by parameter name, in whatever order the constructor declares them", async (ctx) => {
    diagnose(ctx);
    const echoes = callsWhere((c) => c.reply === "echo");
    // The fixtures can tell injection by name from injection by position: some constructor lists
    // the known names in another order than the kernel's own.
    const shuffled = prediction.plugins.filter((p) => p.state === "booted" && Object.keys(p.injected).join() !== KERNEL_DEPENDENCIES.filter((d) => d in p.injected).join());
    expect(shuffled.length, "a booted fixture whose constructor declares its dependencies out of the kernel's order").toBeGreaterThan(0);
    expect(echoes.some((c) => shuffled.some((p) => p.fixture === c.fixture)), "an echo endpoint of such a plugin reports what it got").toBe(true);
    expect(problemsOf(echoes)).toEqual([]);
  });

  it.for(broken.map((p) => [p.fixture, p.state === "not-loaded" ? "a module that does not import" : `plugin ${p.name}`] as const))(
    "KRN-01: %s (%s) fails with a clear diagnostic, its endpoints are not served, and the plugins loaded after it still boot and answer",
    async ([fixture], ctx) => {
      diagnose(ctx);
      const predicted = prediction.diagnostics.find((d) => d.fixture === fixture)!;
      const problems = diagnosticProblems({ ...prediction, diagnostics: [predicted] }, diagnostics).filter((p) => p.startsWith(`${fixture}:`));
      expect(problems).toEqual([]);
      const listed = plugins.find((p) => p.name === prediction.plugins.find((x) => x.fixture === fixture)!.name);
      if (predicted.plugin !== null) expect(listed, `${fixture} is listed as failed`).toMatchObject({ state: "failed", endpoints: [] });
      expect(problemsOf(prediction.calls.filter((c) => c.fixture === fixture))).toEqual([]);
      // Not the kernel: every plugin the oracle says loads after this one booted, and one of its endpoints answers.
      const after = prediction.bootedAfter[fixture]!;
      expect(after.length, "the fixtures put a good plugin after this broken one").toBeGreaterThan(0);
      for (const name of after) expect(plugins.find((p) => p.name === name)?.state, `${name}, loaded after ${fixture}`).toBe("booted");
      // Asked again, live: an endpoint whose answer does not depend on earlier calls (not db, not received).
      const afterFixtures = prediction.plugins.filter((p) => after.includes(p.name)).map((p) => p.fixture);
      const next = served.find((c) => afterFixtures.includes(c.fixture) && (c.reply === "echo" || c.reply === "raise" || c.reply === "fail"));
      expect(next, "an endpoint of a plugin loaded after it to ask").toBeDefined();
      expect(answerProblems(next!, await send(host!, next!))).toEqual([]);
    },
  );

  it("KRN-01: every kernel diagnostic is predicted, and each broken plugin has exactly one", async (ctx) => {
    diagnose(ctx);
    expect(diagnosticProblems(prediction, diagnostics)).toEqual([]);
  });

  it("KRN-01: the injected db keeps what a handler stored, and the injected event_bus delivers a publication to every live subscriber", async (ctx) => {
    diagnose(ctx);
    const db = callsWhere((c) => c.reply === "db");
    const heard = callsWhere((c) => c.reply === "received");
    expect(db.length).toBeGreaterThan(0);
    expect(prediction.publications.length).toBeGreaterThan(0);
    expect(heard.length).toBeGreaterThanOrEqual(2);
    expect(problemsOf([...db, ...callsWhere((c) => c.reply === "publish"), ...heard])).toEqual([]);
    // A host that keeps an event log records each publication there (SEED-SYSTEMS.md: `kernel_event`).
    if (events !== undefined) {
      expect(events.map((e) => ({ topic: e.topic, payload: e.payload }))).toEqual(prediction.publications.map((p) => ({ topic: p.topic, payload: p.payload })));
    }
  });

  it("KRN-02: every endpoint answers the standard envelope {success, data, error} with the predicted data and status", async (ctx) => {
    diagnose(ctx);
    expect(served.length).toBeGreaterThanOrEqual(10);
    expect(callsWhere((c) => c.expected!.envelope.success).length).toBeGreaterThan(0);
    expect(problemsOf(served)).toEqual([]);
  });

  it("KRN-02: a handler that raises answers success false with '<Type>: <message>', never a 500 crash, and the kernel keeps serving", async (ctx) => {
    diagnose(ctx);
    const raising = callsWhere((c) => c.reply === "raise");
    expect(raising.map((c) => c.handler).sort(), "raising handlers of both kinds").toEqual(expect.arrayContaining(["async", "sync"]));
    expect(problemsOf(raising)).toEqual([]);
    for (const call of raising) expect(answerOf(call).status, call.key).toBeLessThan(500);
    // Again, live: each raising handler, then the host is ready and a good endpoint of the same plugin answers.
    for (const call of raising) {
      const again = await send(host!, call);
      expect(again.status, call.key).toBe(call.expected!.status);
      expect(again.body, call.key).toEqual(call.expected!.envelope);
    }
    expect(await host!.readiness()).toMatchObject({ ready: true });
    const good = served.find((c) => c.fixture === raising[0]!.fixture && c.reply === "echo");
    expect(good, `an echo endpoint of ${raising[0]!.fixture}`).toBeDefined();
    expect(answerProblems(good!, await send(host!, good!))).toEqual([]);
  });

  it("KRN-02: a status set with context.set_status is the answer's status, with the envelope intact (also when the handler then raises)", async (ctx) => {
    diagnose(ctx);
    const withStatus = callsWhere((c) => c.expected!.status !== 200);
    expect(withStatus.some((c) => c.expected!.envelope.success), "a successful answer with a set status").toBe(true);
    expect(withStatus.some((c) => !c.expected!.envelope.success), "a raising handler that set a status").toBe(true);
    expect(problemsOf(withStatus)).toEqual([]);
  });

  it("KRN-02: async handlers run on the kernel's event loop thread and sync ones in its thread pool, never on the HTTP server's thread", async (ctx) => {
    diagnose(ctx);
    const threaded = callsWhere((c) => c.expected!.thread !== null);
    const kinds = new Set(threaded.map((c) => c.handler));
    expect([...kinds].sort(), "handlers of both kinds report their thread").toEqual(["async", "sync"]);
    const seen = threaded.map((c) => ({ key: c.key, handler: c.handler, thread: reportedThread(answerOf(c)) }));
    for (const s of seen) {
      const want = KERNEL_THREAD_NAMES[s.handler === "async" ? "loop" : "pool"];
      expect(s.thread, `${s.key} (${s.handler})`).toMatch(want);
    }
    // One loop: every async handler ran on the same thread, and no sync handler ran there.
    const loopThreads = new Set(seen.filter((s) => s.handler === "async").map((s) => s.thread));
    expect(loopThreads.size).toBe(1);
    for (const s of seen.filter((x) => x.handler === "sync")) expect(loopThreads.has(s.thread), s.key).toBe(false);
  });
});
