import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { loadFixtureDeclarations } from "../src/fixtures/declarations/declaration-loader.ts";
import type { WheelDeclaration } from "../src/fixtures/declarations/fixture-declaration.ts";
import { staticFolderProbes, staticLinkProbes } from "../src/fixtures/declarations/static-symlinks.ts";
import { READY_BOUND_MS, type BootedHost } from "../src/hosts/booted-host.ts";
import { observeWheels, predictWheelsFor } from "../src/hosts/wheel-observation.ts";
import type { Cell } from "../src/matrix/matrix.ts";
import { judgeWheels, normaliseDistribution, type WheelJudgement, type WheelObservation, type WheelOutcome } from "../src/oracle/index.ts";
import { PROJECT_ROOT, runCells } from "./support/cells.ts";
import { CONTAINER_WHEELS, containerPath } from "./support/fixture-files.ts";
import { adapterOf, attachOnFailure, bootHost, sampleWheel, timingFactorOf } from "./support/host.ts";
import { DISABLED, DISCOVERY, LIFECYCLE_BOOT, LIFECYCLE_LATER, RESOLVED_BY_PIP } from "./support/discovery-sets.ts";

// Discovery of wheel extensions (WHL-01..07, 11, 12, 13, 15). Every expectation comes from the oracle
// (src/oracle), which reads the fixture declarations and the host facts the suite set (core version,
// disabled list), never the host's answers. One host per cell holds every discovery sample at once
// (their outcomes do not interfere); a second host per cell goes through install, upgrade and removal
// with restarts in between.
const cells = runCells();
const declarations = new Map((await loadFixtureDeclarations(path.join(PROJECT_ROOT, "fixtures"))).wheels.map((d) => [d.name, d]));
const decl = (name: string): WheelDeclaration => {
  const d = declarations.get(name);
  if (!d) throw new Error(`no wheel declaration named ${name} under fixtures/wheels`);
  return d;
};

const LOADED = ["ok-basic", "ok-factory", "dep-user", "dep-base", "frontend-present", "static-symlinks"];
const SECRET_MARK = "DISTCHECK-PRIVATE";
/** The sample whose setup() makes symbolic links in its own static/ (behaviour.staticSymlinks, WHL-12). */
const LINKS = "static-symlinks";

const encodePath = (file: string): string => file.split("/").map(encodeURIComponent).join("/");

/**
 * GET of a URL path of an extension's static files, following redirects (at most 3) that stay inside
 * that extension's static URL space, as a browser would: a host may answer `/extensions/<id>` with a
 * redirect to `/extensions/<id>/`, and what counts is the answer at the end. A redirect anywhere else
 * is the answer judged.
 */
async function getStatic(h: BootedHost, extensionId: string, urlPath: string): Promise<{ status: number; body: string; hops: string[] }> {
  const root = h.adapter.staticPath(extensionId, "");
  const hops = [urlPath];
  let r = await h.raw("GET", urlPath);
  for (let i = 0; i < 3 && r.statusCode >= 300 && r.statusCode < 400; i++) {
    const location = r.headers.location;
    if (typeof location !== "string") break;
    const next = new URL(location, `http://host.invalid${urlPath}`);
    const nextPath = `${next.pathname}${next.search}`;
    if (!nextPath.startsWith(root)) break;
    hops.push(nextPath);
    r = await h.raw("GET", nextPath);
  }
  return { status: r.statusCode, body: r.body, hops };
}

/** What pip put into the container, read by one Python process (each one costs seconds under qemu). */
interface Probe {
  /** Distribution name → [version, direct_url.json or null]. */
  dists: Record<string, [string, string | null]>;
  /** [entry point name, distribution name] of the host's group. */
  entryPoints: Array<[string, string]>;
  /** extension.json inside each installed package of LOADED. */
  manifests: Array<{ id: string; name: string; version: string }>;
  /** The ok-basic package folder (static/ and private/ sit in it). */
  okBasicDir: string;
  /** The static-symlinks package folder (its setup() made the links in its static/). */
  linksDir: string;
}

async function probeEnvironment(host: BootedHost): Promise<Probe> {
  const script = [
    "import importlib.metadata as m, importlib.resources as r, importlib.util as u, json, os",
    "dists = {d.metadata['Name']: [d.version, d.read_text('direct_url.json')] for d in m.distributions() if d.metadata['Name'].lower().startswith('distcheck-sample')}",
    `eps = [[ep.name, ep.dist.metadata['Name']] for ep in m.entry_points(group=${JSON.stringify(host.adapter.entryPointGroup)})]`,
    // A package that is not importable (a dependency pip never installed) is left out: the tests
    // compare what was found with what was declared.
    "def manifest(p):",
    "    try: return json.loads(r.files(p).joinpath('extension.json').read_text())",
    "    except ModuleNotFoundError: return None",
    `manifests = [m for m in map(manifest, ${JSON.stringify(LOADED.map((n) => decl(n).package))}) if m is not None]`,
    "def folder(p):",
    "    spec = u.find_spec(p)",
    "    return os.path.dirname(spec.origin) if spec else ''",
    `ok = folder(${JSON.stringify(decl("ok-basic").package)})`,
    `links = folder(${JSON.stringify(decl(LINKS).package)})`,
    "print(json.dumps({'dists': dists, 'entryPoints': eps, 'manifests': manifests, 'okBasicDir': ok, 'linksDir': links}))",
  ].join("\n");
  const r = await host.container.exec(["python3", "-c", script]);
  if (r.exitCode !== 0) throw new Error(`probing the installed distributions failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Probe;
}

function problemsAbout(judgement: WheelJudgement, names: string[]): string[] {
  return judgement.problems.filter((p) => p.fixtures.some((f) => names.includes(f))).map((p) => p.message);
}

describe.concurrent.each(cells)("discovery on $id", (cell: Cell) => {
  const factor = timingFactorOf(cell);
  const installed = [...DISCOVERY, ...RESOLVED_BY_PIP].map(decl);
  let host: BootedHost | undefined;
  let seen: WheelObservation;
  let judgement: WheelJudgement;
  let predicted: Map<string, WheelOutcome>;
  let probe: Probe;

  const adapter = adapterOf(cell);
  const wheel = (name: string) => sampleWheel(cell, name);

  beforeAll(async () => {
    host = await bootHost(cell, { wheels: DISCOVERY.map(wheel), files: RESOLVED_BY_PIP.map(wheel), settings: { disabled: DISABLED } });
    // The discovery samples declare no core range, so any valid core version predicts the same; the
    // oracle still gets the one the host runs with (the compatibility suite sets and checks it).
    const coreVersion = await host.coreVersion();
    seen = await observeWheels(host);
    predicted = predictWheelsFor(adapter, installed, { coreVersion, disabled: DISABLED });
    judgement = judgeWheels(installed, predicted, seen);
    probe = await probeEnvironment(host);
  }, 240_000 * factor);

  afterAll(async () => {
    await host?.[Symbol.asyncDispose]();
  });

  const diagnose = (ctx: TestContext): void => attachOnFailure(ctx, () => host, async () => ({ problems: judgement?.problems, extensions: seen?.extensions, diagnostics: seen?.diagnostics }));

  it("WHL-01: installs from a local folder with pip --no-index, resolving Requires-Dist from that folder only", async (ctx) => {
    diagnose(ctx);
    const dists = new Map(Object.entries(probe.dists).map(([k, v]) => [normaliseDistribution(k), v]));
    expect([...dists.keys()].sort()).toEqual(installed.map((d) => normaliseDistribution(d.distribution)).sort());
    for (const d of installed) {
      const found = dists.get(normaliseDistribution(d.distribution));
      expect(found?.[0], `${d.distribution} installed at its declared version`).toBe(d.version);
      // Installed from a built wheel, never from a source tree (an editable or directory install records dir_info).
      if (found?.[1]) expect(JSON.parse(found[1]) as Record<string, unknown>, d.distribution).not.toHaveProperty("dir_info");
    }
    // dep-base was never named to pip: it came from the --find-links folder through dep-user's
    // Requires-Dist; dep-user imports it at import time, and both load.
    expect(problemsAbout(judgement, ["dep-user", "dep-base"])).toEqual([]);
    expect(seen.witness.some((w) => w.fixture === "dep-user" && w.event === "setup")).toBe(true);
  });

  it("WHL-02: every entry point of the group is discovered; id, name and version come from the installed extension.json", async (ctx) => {
    diagnose(ctx);
    const entryPoints = probe.entryPoints;
    expect(entryPoints.length).toBe(installed.length);
    // Discovered = listed, or reported by a diagnostic that names it. A listing or diagnostic that
    // names no entry point is matched by the id the entry point's own declaration gives its manifest.
    for (const [name, dist] of entryPoints) {
      const declared = installed.find((d) => d.entryPointName === name && normaliseDistribution(d.distribution) === normaliseDistribution(dist));
      const same = (x: { id?: string; extension_id?: string | null; entry_point?: string | null; distribution?: string | null }): boolean =>
        x.entry_point
          ? x.entry_point === name && (!x.distribution || normaliseDistribution(x.distribution) === normaliseDistribution(dist))
          : (x.id ?? x.extension_id) !== undefined && (x.id ?? x.extension_id) === declared?.manifest?.id;
      expect(seen.extensions.some(same) || seen.diagnostics.some(same), `entry point ${name} of ${dist} is listed or reported`).toBe(true);
    }
    // The listing matches the extension.json inside each installed package.
    expect(probe.manifests.length).toBe(LOADED.length);
    for (const m of probe.manifests) {
      expect(seen.extensions.find((e) => e.id === m.id), m.id).toMatchObject({ id: m.id, name: m.name, version: m.version });
    }
    expect(problemsAbout(judgement, LOADED)).toEqual([]);
  });

  it.for<[string, string, string[]]>([
    ["WHL-03", "an entry point whose import fails", ["import-error"]],
    ["WHL-04", "a plugin whose constructor raises", ["ctor-raises"]],
    ["WHL-05", "plugins without a readable, valid extension.json", ["manifest-method-missing", "manifest-invalid-json", "manifest-missing-id", "no-manifest"]],
    ["WHL-07", "an extension in the disabled list", ["disabled-me"]],
    ["WHL-11", "a setup() that raises", ["setup-raises"]],
  ])("%s: %s is reported with the predicted code, is not set up, and every other extension still loads", async ([, , names], ctx) => {
    diagnose(ctx);
    expect(problemsAbout(judgement, names)).toEqual([]);
    // Isolation: the host serves, and the well-behaved samples are loaded and answer.
    expect(await host!.readiness()).toMatchObject({ ready: true });
    expect(problemsAbout(judgement, LOADED)).toEqual([]);
    const pingRoute = decl("ok-basic").behaviour.routes[0]!;
    const ping = await host!.raw(pingRoute.method, pingRoute.path);
    expect(ping.statusCode).toBe(200);
    expect(JSON.parse(ping.body)).toMatchObject({ fixture: "ok-basic", data: decl("ok-basic").behaviour.routes[0]!.response });
    // What it would have added answers nothing (where the contract says so: a setup() that raised
    // part way may leave what it registered, WHL-11).
    for (const n of names.filter((x) => predicted.get(x)?.registrations !== "any")) {
      for (const route of decl(n).behaviour.routes) expect((await host!.raw(route.method, route.path)).statusCode, `${route.method} ${route.path} of ${n}`).toBe(404);
    }
  });

  it("HST-02: with extensions that fail to import, to construct and in setup(), the host became ready within its bound", async (ctx) => {
    diagnose(ctx);
    // The failures really happened and were reported as the oracle predicts (else this proves nothing).
    expect(problemsAbout(judgement, ["import-error", "ctor-raises", "setup-raises"])).toEqual([]);
    expect(await host!.readiness()).toMatchObject({ ready: true });
    // Harness clock, from starting the host process to its ready line (includes a process start:
    // the start-up factor applies); a host that measures its own start-to-ready must agree.
    expect(host!.lastBootMs!, `ready within ${READY_BOUND_MS} ms x timing factor ${factor}`).toBeLessThanOrEqual(READY_BOUND_MS * factor);
    const { readyMs } = await host!.readiness();
    if (readyMs !== undefined) expect(readyMs, "the host's own start-to-ready").toBeLessThanOrEqual(READY_BOUND_MS * factor);
  });

  it("WHL-06: of two distributions declaring one id, exactly one is loaded and the other is reported", async (ctx) => {
    diagnose(ctx);
    expect(problemsAbout(judgement, ["dup-a", "dup-b"])).toEqual([]);
    const winner = judgement.winners["dev.distcheck.dup"];
    expect(["dup-a", "dup-b"]).toContain(winner);
    const loser = winner === "dup-a" ? "dup-b" : "dup-a";
    expect((await host!.raw("GET", decl(winner!).behaviour.routes[0]!.path)).statusCode).toBe(200);
    expect((await host!.raw("GET", decl(loser).behaviour.routes[0]!.path)).statusCode).toBe(404);
  });

  it("WHL-12: serves the files under static/ at /extensions/<id>/<path>", async (ctx) => {
    diagnose(ctx);
    const d = decl("ok-basic");
    const id = d.manifest!.id as string;
    for (const [file, content] of Object.entries(d.behaviour.static)) {
      expect(await host!.fetchStatic(id, encodePath(file)), file).toEqual({ status: 200, body: content });
    }
    expect((await host!.fetchStatic(id, "no-such-file.txt")).status).toBe(404);
  });

  it("WHL-12: refuses traversal (plain, percent-encoded, double-encoded, absolute, backslash) and never reveals private/secret.txt", async (ctx) => {
    diagnose(ctx);
    const d = decl("ok-basic");
    const id = d.manifest!.id as string;
    // The planted file really sits next to static/, so a traversal that worked would reveal it.
    const secret = `${probe.okBasicDir}/private/secret.txt`;
    expect((await host!.container.readFile(secret)).toString("utf8")).toContain(SECRET_MARK);
    const attempts = [
      "../private/secret.txt",
      "./../private/secret.txt",
      "nested/../../private/secret.txt",
      "nested/deep/../../../private/secret.txt",
      "%2e%2e/private/secret.txt",
      "%2E%2E/private/secret.txt",
      ".%2e/private/secret.txt",
      "..%2fprivate%2fsecret.txt",
      "%2e%2e%2fprivate%2fsecret.txt",
      "nested%2f..%2f..%2fprivate%2fsecret.txt",
      "%252e%252e/private/secret.txt",
      "%252e%252e%252fprivate%252fsecret.txt",
      "%25252e%25252e/private/secret.txt",
      secret,
      secret.split("/").join("%2F"),
      "/etc/passwd",
      "%2Fetc%2Fpasswd",
      "..\\private\\secret.txt",
      "..%5cprivate%5csecret.txt",
      "nested\\..\\..\\private\\secret.txt",
      "%5c..%5cprivate%5csecret.txt",
    ];
    const answers: Array<{ attempt: string; status: number; body: string }> = [];
    for (const attempt of attempts) {
      const r = await host!.fetchStatic(id, attempt);
      answers.push({ attempt, status: r.status, body: r.body.slice(0, 300) });
    }
    expect(answers.filter((a) => a.body.includes(SECRET_MARK) || /root:.*:0:0:/.test(a.body)), "answers that revealed a file outside static/").toEqual([]);
    expect(answers.filter((a) => a.status < 400 || a.status >= 500), "attempts not refused with a 4xx").toEqual([]);
  });

  it("WHL-12: a symbolic link inside static/ to a file or folder outside it (relative or absolute) is refused with a 4xx and never reveals what it leads to", async (ctx) => {
    diagnose(ctx);
    const d = decl(LINKS);
    const id = d.manifest!.id as string;
    // Requests through a link that lead outside static/ (the declaration says where each one leads);
    // one that leads back inside static/ may be served and is not asked about.
    const probes = staticLinkProbes(d).filter((p) => !p.insideStatic);
    if (probes.length === 0) throw new Error(`fixtures/wheels/${LINKS}.json declares no link out of static/: this test would prove nothing`);
    const answers: Array<{ request: string; reaches: string; status: number; hops: string[]; revealed: boolean; body: string }> = [];
    for (const p of probes) {
      // The link really is there and leads to that file: a host that followed it would reveal these bytes.
      // Read as `cat` would (every link followed inside the container's root), through the Engine API.
      const through = await host!.container.readFile(`${probe.linksDir}/static/${p.request}`, { followSymlinks: true }).then(
        (bytes) => ({ ok: true, text: bytes.toString("utf8") }),
        (error: unknown) => ({ ok: false, text: (error as Error).message }),
      );
      const made = seen.witness.filter((w) => w.fixture === LINKS && w.event === "static_symlinks");
      if (!through.ok || (p.content !== null && !through.text.includes(p.content.trim()))) {
        throw new Error(`the ${LINKS} sample's link ${p.link} does not lead to ${p.reaches} in ${cell.id} (reading ${p.request}: ${through.ok ? "not the declared content" : through.text}); its setup() witness: ${JSON.stringify(made)}`);
      }
      const reached = through.text.split("\n").map((l) => l.trim()).find((l) => l !== "")!;
      const r = await getStatic(host!, id, adapter.staticPath(id, encodePath(p.request)));
      const revealed = r.body.includes(reached) || r.body.includes(SECRET_MARK) || /root:.*:0:0:/.test(r.body);
      answers.push({ request: p.request, reaches: p.reaches, status: r.status, hops: r.hops, revealed, body: r.body.slice(0, 300) });
    }
    expect(answers.filter((a) => a.revealed), "answers that revealed the file a link inside static/ leads to").toEqual([]);
    expect(answers.filter((a) => a.status < 400 || a.status >= 500), "requests through a link out of static/ not refused with a 4xx").toEqual([]);
  });

  it("WHL-12: a request for static/ itself or for a folder inside it (with and without the trailing slash, also a link to a folder) is refused with a 4xx and lists nothing", async (ctx) => {
    diagnose(ctx);
    const d = decl(LINKS);
    const id = d.manifest!.id as string;
    const root = adapter.staticPath(id, "");
    const folders = staticFolderProbes(d);
    if (!folders.some((f) => f.folder !== "" && f.entries.length > 0)) throw new Error(`fixtures/wheels/${LINKS}.json declares no folder inside static/: this test would prove little`);
    // The folders really are there (the links to folders too), with entries a listing would name.
    const paths = folders.map((f) => `${probe.linksDir}/static/${f.folder}`);
    for (const folder of paths) if (!(await host!.container.isDirectory(folder))) throw new Error(`the ${LINKS} sample has no folder ${folder} in ${cell.id}`);
    const requests = folders.flatMap((f) =>
      f.folder === "" ? [{ f, path: root }, { f, path: root.replace(/\/$/, "") }] : [{ f, path: adapter.staticPath(id, `${encodePath(f.folder)}/`) }, { f, path: adapter.staticPath(id, encodePath(f.folder)) }],
    );
    const answers: Array<{ path: string; status: number; hops: string[]; listed: string[]; body: string }> = [];
    for (const { f, path: urlPath } of requests) {
      const r = await getStatic(host!, id, urlPath);
      // A name the request itself carries may be echoed in a refusal; every other entry must not appear.
      const listed = f.entries.filter((e) => !urlPath.includes(encodeURIComponent(e)) && r.body.includes(e));
      if (r.body.includes(SECRET_MARK)) listed.push(SECRET_MARK);
      answers.push({ path: urlPath, status: r.status, hops: r.hops, listed, body: r.body.slice(0, 300) });
    }
    expect(answers.filter((a) => a.listed.length > 0), "answers that named what a folder holds").toEqual([]);
    expect(answers.filter((a) => a.status < 400 || a.status >= 500), "folder requests not refused with a 4xx").toEqual([]);
  });

  it("WHL-13: publishes frontend.remote_entry as remote_entry_url, and reports a remote entry missing from the wheel", async (ctx) => {
    diagnose(ctx);
    expect(problemsAbout(judgement, ["frontend-present", "frontend-missing"])).toEqual([]);
    const d = decl("frontend-present");
    const frontend = d.manifest!.frontend as { remote_entry: string; scope: string };
    const url = seen.extensions.find((e) => e.id === d.manifest!.id)?.remote_entry_url;
    expect(url).toBe(adapter.staticPath(d.manifest!.id as string, frontend.remote_entry));
    const served = await host!.raw("GET", url!);
    expect(served.statusCode).toBe(200);
    expect(served.body).toContain(frontend.scope);
  });

  describe.sequential("after install, upgrade and removal", () => {
    let life: BootedHost | undefined;
    let lifeCore: string;
    let firstWinner: string | undefined;
    let last: { seen?: WheelObservation; judgement?: WheelJudgement } = {};
    const lifeDiagnose = (ctx: TestContext): void => attachOnFailure(ctx, () => life, async () => ({ problems: last.judgement?.problems, extensions: last.seen?.extensions, diagnostics: last.seen?.diagnostics }));

    /** Restarts (witness cleared in between, so the lines are this boot's), then judges everything installed. */
    async function restartAndJudge(names: string[]): Promise<WheelJudgement> {
      await life!.stop();
      await life!.clearWitness();
      await life!.boot();
      const seenNow = await observeWheels(life!);
      const installedNow = names.map(decl);
      last = { seen: seenNow, judgement: judgeWheels(installedNow, predictWheelsFor(adapter, installedNow, { coreVersion: lifeCore }), seenNow) };
      return last.judgement!;
    }

    // One pip call and one restart serve two tests (restarts and pip cost tens of seconds under qemu):
    // ok-factory is new, ok-basic 2.0.0 upgrades 1.0.0.
    let afterInstall: Promise<WheelJudgement> | undefined;
    const installNewAndNewer = (): Promise<WheelJudgement> =>
      (afterInstall ??= (async () => {
        await pip(["install", "--no-index", "--find-links", CONTAINER_WHEELS, containerPath(wheel("ok-factory")), containerPath(wheel("ok-basic-2"))]);
        // Reinstalling the duplicate that lost makes it the newest install: a winner chosen by install
        // order (not by something stable) changes now; the uninstall test reinstalls the winner too.
        if (firstWinner) await pip(["install", "--no-index", "--no-deps", "--force-reinstall", containerPath(wheel(firstWinner === "dup-a" ? "dup-b" : "dup-a"))]);
        return restartAndJudge(["ok-basic-2", "dup-a", "dup-b", "ok-factory"]);
      })());

    async function pip(args: string[]): Promise<void> {
      const r = await life!.container.exec(["python3", "-m", "pip", "--disable-pip-version-check", ...args]);
      expect(r.exitCode, `pip ${args.join(" ")}:\n${r.stdout}${r.stderr}`).toBe(0);
    }

    beforeAll(async () => {
      life = await bootHost(cell, { wheels: LIFECYCLE_BOOT.map(wheel), files: LIFECYCLE_LATER.map(wheel) });
      lifeCore = await life.coreVersion();
      const names = LIFECYCLE_BOOT.map(decl);
      last = { seen: await observeWheels(life) };
      last.judgement = judgeWheels(names, predictWheelsFor(adapter, names, { coreVersion: lifeCore }), last.seen!);
      firstWinner = last.judgement.winners["dev.distcheck.dup"];
    }, 240_000 * factor);

    afterAll(async () => {
      await life?.[Symbol.asyncDispose]();
    });

    it("WHL-02: a wheel installed while the host runs is discovered after a restart", async (ctx) => {
      lifeDiagnose(ctx);
      const j = await installNewAndNewer();
      expect(j.problems.map((p) => p.message)).toEqual([]);
      expect(last.seen!.extensions.find((e) => e.id === decl("ok-factory").manifest!.id)).toMatchObject({ name: decl("ok-factory").manifest!.name, version: decl("ok-factory").manifest!.version });
    }, 180_000 * factor);

    it("WHL-06: the same duplicate wins across restarts, also after the other distribution was installed again", async (ctx) => {
      lifeDiagnose(ctx);
      expect(firstWinner, JSON.stringify(last.judgement?.problems)).toBeDefined();
      const j = await installNewAndNewer();
      expect(j.winners["dev.distcheck.dup"], "the kept duplicate after the restart").toBe(firstWinner);
    }, 180_000 * factor);

    it("WHL-15: a newer wheel replaces the older one after a restart", async (ctx) => {
      lifeDiagnose(ctx);
      const [older, newer] = [decl("ok-basic"), decl("ok-basic-2")];
      const j = await installNewAndNewer();
      expect(j.problems.map((p) => p.message)).toEqual([]);
      const s = last.seen!;
      expect(s.extensions.filter((e) => e.id === newer.manifest!.id)).toEqual([expect.objectContaining({ version: newer.manifest!.version, name: newer.manifest!.name })]);
      // The new code runs, the old one does not.
      expect(s.witness.filter((w) => w.event === "setup" && (w.fixture === older.name || w.fixture === newer.name)).map((w) => w.fixture)).toEqual([newer.name]);
      const added = newer.behaviour.routes.find((r) => !older.behaviour.routes.some((o) => o.path === r.path) && r.response !== undefined)!;
      const answer = await life!.raw(added.method, added.path);
      expect(answer.statusCode).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ data: added.response });
      // What only the old version had is gone: a route and a static file.
      const gone = older.behaviour.routes.find((r) => !newer.behaviour.routes.some((n) => n.path === r.path))!;
      expect((await life!.raw(gone.method, gone.path)).statusCode).toBe(404);
      const newId = newer.manifest!.id as string;
      expect(await life!.fetchStatic(newId, "hello.txt")).toEqual({ status: 200, body: newer.behaviour.static["hello.txt"] });
      const oldOnly = Object.keys(older.behaviour.static).find((f) => !(f in newer.behaviour.static))!;
      expect((await life!.fetchStatic(newId, encodePath(oldOnly))).status).toBe(404);
    }, 180_000 * factor);

    it("WHL-15: an uninstalled wheel leaves no stale entry after a restart", async (ctx) => {
      lifeDiagnose(ctx);
      const removed = decl("ok-basic-2");
      const id = removed.manifest!.id as string;
      await pip(["uninstall", "-y", removed.distribution]);
      if (firstWinner) await pip(["install", "--no-index", "--no-deps", "--force-reinstall", containerPath(wheel(firstWinner))]);
      const j = await restartAndJudge(["dup-a", "dup-b", "ok-factory"]);
      expect(j.problems.map((p) => p.message)).toEqual([]);
      const s = last.seen!;
      expect(s.extensions.map((e) => e.id).sort()).toEqual(["dev.distcheck.dup", "dev.distcheck.ok-factory"]);
      expect(s.diagnostics.filter((d) => d.extension_id === id || normaliseDistribution(d.distribution ?? "") === normaliseDistribution(removed.distribution))).toEqual([]);
      expect([...(s.registry.routes ?? []), ...(s.registry.services ?? []), ...(s.registry.operators ?? [])].filter((x) => x.owner === id)).toEqual([]);
      expect(s.witness.filter((w) => w.ext === id)).toEqual([]);
      for (const route of removed.behaviour.routes) expect((await life!.raw(route.method, route.path)).statusCode, route.path).toBe(404);
      expect((await life!.fetchStatic(id, "hello.txt")).status).toBe(404);
    }, 120_000 * factor);
  });
});
