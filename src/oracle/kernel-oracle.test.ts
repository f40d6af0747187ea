import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadKernelDeclarations, parseKernelDeclaration, type KernelPluginDeclaration } from "../fixtures/declarations/kernel-declaration.ts";
import { DeclarationReader } from "../fixtures/declarations/declaration-reader.ts";
import { KERNEL_THREAD_NAMES, predictKernel } from "./kernel-oracle.ts";

const FIXTURES = path.resolve(import.meta.dirname, "../../fixtures");
const declarations = await loadKernelDeclarations(FIXTURES);
const prediction = predictKernel(declarations);

const decl = (value: Record<string, unknown>): KernelPluginDeclaration =>
  parseKernelDeclaration(new DeclarationReader("test.json", { description: "d", clauses: ["KRN-01"], expected: { state: "booted", diagnostic: null }, ...value }));

describe("the kernel oracle on fixtures/kernel", () => {
  it("agrees with what every declaration's author expected", () => {
    for (const d of declarations) {
      const p = prediction.plugins.find((x) => x.fixture === d.name)!;
      const diag = prediction.diagnostics.find((x) => x.fixture === d.name);
      expect({ state: p.state, diagnostic: diag?.code ?? null }, d.name).toEqual(d.expected);
    }
  });

  it("orders plugins as the kernel loads them: by domain, then module file", () => {
    expect(prediction.plugins.map((p) => p.file)).toEqual([
      "domains/billing/plugins/a_unknown_dependency.py",
      "domains/billing/plugins/b_constructor_raises.py",
      "domains/billing/plugins/c_boot_raises.py",
      "domains/billing/plugins/d_import_fails.py",
      "domains/billing/plugins/e_invoices.py",
      "domains/catalog/plugins/products.py",
      "domains/shipping/plugins/tracker.py",
    ]);
  });

  it("can catch a kernel that stops at a broken plugin: a booted plugin loads after each broken one", () => {
    const broken = prediction.plugins.filter((p) => p.state !== "booted");
    expect(broken.length).toBe(4);
    for (const p of broken) expect(prediction.bootedAfter[p.fixture]!.length, p.fixture).toBeGreaterThan(0);
  });

  it("names the unknown parameter, the plugin and every known dependency in kernel_unknown_dependency", () => {
    expect(prediction.diagnostics.find((d) => d.code === "kernel_unknown_dependency")).toEqual({
      fixture: "krn-unknown-dependency",
      code: "kernel_unknown_dependency",
      plugin: "UnknownDependencyPlugin",
      mustName: ["cache", "UnknownDependencyPlugin", "db", "http", "logger", "event_bus"],
    });
    expect(prediction.diagnostics.find((d) => d.code === "kernel_module_failed")?.mustName).toEqual(["domains/billing/plugins/d_import_fails.py", "ModuleNotFoundError", "distcheck_kernel_fixture_missing"]);
    expect(prediction.diagnostics.find((d) => d.code === "kernel_boot_failed")?.mustName).toEqual(["BootRaisesPlugin", "LookupError: on_boot gave up half way"]);
  });

  it("predicts each endpoint's envelope, status and thread", () => {
    const call = (key: string) => prediction.calls.find((c) => c.key === key)!;
    expect(call("POST /products/echo-async").expected).toEqual({
      status: 200,
      envelope: { success: true, data: { fixture: "krn-products", received: { name: "lamp", price: 19.9, tags: ["a", "b"] }, dependencies: { event_bus: "event_bus", logger: "logger", http: "http", db: "db" } }, error: null },
      thread: "loop",
    });
    expect(call("GET /products/echo-sync").expected).toMatchObject({ status: 200, thread: "pool", envelope: { data: { received: { page: "2", q: "lamp" } } } });
    expect(call("POST /products/created").expected?.status).toBe(201);
    expect(call("GET /products/raise-sync").expected).toEqual({ status: 200, envelope: { success: false, data: null, error: "ValueError: no such product" }, thread: null });
    expect(call("PATCH /products/raise-with-status").expected).toMatchObject({ status: 409, envelope: { error: "PermissionError: product is locked" } });
    expect(call("GET /products/out-of-stock").expected?.envelope).toEqual({ success: false, data: null, error: "out of stock" });
    expect(call("POST /billing/invoices").expected?.envelope.data).toEqual({ fixture: "krn-invoices", rows: [{ invoice: "INV-1", amount: 12.5 }] });
    // Endpoints of plugins that did not boot are not served.
    for (const key of ["GET /billing/cache", "GET /billing/constructed", "GET /billing/half-booted", "GET /billing/imported"]) expect(call(key)).toMatchObject({ served: false, expected: null });
  });

  it("calls publishers before the subscribers are asked, and only live subscriptions hear them", () => {
    const keys = prediction.calls.map((c) => c.key);
    expect(keys.indexOf("POST /products/order")).toBeLessThan(keys.indexOf("GET /shipping/orders-seen"));
    expect(keys.indexOf("POST /products/order")).toBeLessThan(keys.indexOf("GET /billing/orders-seen"));
    expect(prediction.publications).toEqual([{ topic: "orders.created", payload: { order: 42, product: "lamp" }, publisher: "ProductsPlugin" }]);
    const seen = prediction.calls.find((c) => c.key === "GET /shipping/orders-seen")!.expected!;
    expect(seen.envelope.data).toEqual({ fixture: "krn-shipping", received: [{ order: 42, product: "lamp" }] });
    expect(seen.thread).toBe("loop");
  });

  it("thread names: the loop is one thread, pool workers are numbered", () => {
    expect(KERNEL_THREAD_NAMES.loop.test("kernel-loop")).toBe(true);
    expect(KERNEL_THREAD_NAMES.pool.test("kernel-pool-0")).toBe(true);
    expect(KERNEL_THREAD_NAMES.pool.test("kernel-pool_0")).toBe(false);
    expect(KERNEL_THREAD_NAMES.pool.test("Thread-3 (process_request_thread)")).toBe(false);
  });
});

describe("the kernel oracle on synthetic declarations", () => {
  it("a parameter with an unknown name fails the plugin even when the others are known; several are all named", () => {
    const p = predictKernel([decl({ name: "kx", domain: "a", module: "m", plugin: "P", constructor: ["http", "cache", "clock"] })]);
    expect(p.plugins[0]!.state).toBe("failed");
    expect(p.diagnostics[0]!.mustName.slice(0, 3)).toEqual(["cache", "clock", "P"]);
  });

  it("an unknown dependency is found before the constructor runs: it wins over a raising constructor", () => {
    const p = predictKernel([decl({ name: "kx", domain: "a", module: "m", plugin: "P", constructor: ["cache"], failure: { at: "constructor", type: "ValueError", message: "m" } })]);
    expect(p.diagnostics.map((d) => d.code)).toEqual(["kernel_unknown_dependency"]);
  });

  it("a db endpoint called once predicts the one row it stored", () => {
    const p = predictKernel([decl({ name: "kx", domain: "a", module: "m", plugin: "P", constructor: ["db", "http"], endpoints: [{ method: "POST", path: "/x", handler: "async", reply: { kind: "db", table: "t" } }] })]);
    expect(p.calls[0]!.expected!.envelope.data).toEqual({ fixture: "kx", rows: [{}] });
  });

  it("sorts by domain before module", () => {
    const p = predictKernel([
      decl({ name: "kb", domain: "zz", module: "a", plugin: "B", constructor: [] }),
      decl({ name: "ka", domain: "aa", module: "z", plugin: "A", constructor: [] }),
    ]);
    expect(p.plugins.map((x) => x.name)).toEqual(["A", "B"]);
  });
});
