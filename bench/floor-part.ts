import { PassThrough, type Duplex } from "node:stream";
import type Docker from "dockerode";
import pLimit from "p-limit";
import { wheelLayerTag } from "../src/images/wheel-layer.ts";
import { tarFiles } from "../src/images/tar-files.ts";
import type { HostAdapter } from "../src/hosts/host-adapter.ts";
import { READY_BOUND_MS } from "../src/hosts/booted-host.ts";
import type { Cell } from "../src/matrix/matrix.ts";
import { containerEnvList } from "../src/platform/platforms.ts";
import type { SessionPlan, Step } from "./case-plans.ts";
import { zeroPhases, type Phase } from "./phases.ts";

/**
 * The floor (part (c)): the container starts, installs, host boots and HTTP calls of (a), issued by
 * a minimal script straight on the Engine API (dockerode) and node's fetch, as many hosts at once as
 * there are cores, with no assertion, no observation exec, no report. Each host is what (a) boots
 * (case-plans.ts, sessionPlans): from the wheel layer (a) starts it from when the engine holds one,
 * else with (a)'s pip install run in the container.
 */

/** One host as the floor handled it. */
export interface FloorSession {
  name: string;
  cell: string;
  cases: number;
  calls: number;
  /**
   * Calls answered with another status than the one (a) gets (the plan's status): not an assertion,
   * a check that the floor did the same work (a refused request costs less than an install).
   */
  unexpectedAnswers: number;
  firstUnexpected?: string;
  /** Why the session stopped early, if it did. */
  error?: string;
  /** The wheel layer (a) starts this host from was there and was used (no pip install). */
  wheelLayerUsed?: boolean;
  phases: Record<Phase, number>;
}

export interface FloorResult {
  runId: string;
  wallMs: number;
  concurrency: number;
  sessions: FloorSession[];
  /** The file servers the URL cases download from (one per cell). */
  servers: number;
  phases: Record<Phase, number>;
}

/** A download server per cell, reached on the floor's network by its alias. */
export interface FileServerPlan {
  cell: Cell;
  /** The cell's base image (Python, no host). */
  image: string;
  alias: string;
  port: number;
  files: Array<{ name: string; content: Buffer }>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function exec(container: Docker.Container, docker: Docker, cmd: string[]): Promise<{ exitCode: number; output: string }> {
  const e = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = (await e.start({ hijack: true, stdin: false })) as Duplex;
  const out = new PassThrough();
  let output = "";
  out.on("data", (c: Buffer) => (output = (output + c.toString("utf8")).slice(-4000)));
  docker.modem.demuxStream(stream, out, out);
  await new Promise<void>((resolve, reject) => {
    stream.on("end", () => resolve());
    stream.on("error", reject);
  });
  return { exitCode: (await e.inspect()).ExitCode ?? -1, output };
}

/** A process started with docker exec whose stream stays open until it exits (the host). */
async function execFollowed(container: Docker.Container, docker: Docker, cmd: string[]): Promise<{ exited: Promise<void> }> {
  const e = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = (await e.start({ hijack: true, stdin: false })) as Duplex;
  const sink = new PassThrough();
  sink.resume();
  docker.modem.demuxStream(stream, sink, sink);
  // Wrapped: an async function returning a bare promise would wait for the host to exit.
  return {
    exited: new Promise<void>((resolve) => {
      stream.on("end", () => resolve());
      stream.on("error", () => resolve());
    }),
  };
}

async function get(url: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    return { status: r.status, body: await r.text() };
  } catch {
    return undefined;
  }
}

/** A `.field` query's value from a JSON body (the only form the plans' waits use). */
function field(body: string, query: string): string {
  const m = /^\.(\w+)$/.exec(query);
  if (!m) throw new Error(`the floor reads only .field queries, not ${query}`);
  try {
    return String((JSON.parse(body) as Record<string, unknown>)[m[1]!]);
  } catch {
    return "";
  }
}

async function until(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

interface FloorOptions {
  docker: Docker;
  adapter: HostAdapter;
  sessions: SessionPlan[];
  servers: FileServerPlan[];
  network: string;
  concurrency: number;
  labels: Record<string, string>;
  factor: (cell: Cell) => number;
  progress: (line: string) => void;
  signal?: AbortSignal;
}

async function startContainer(o: FloorOptions, cell: Cell, image: string, files: Array<{ path: string; content: Buffer | string }>, cmd: string[], alias?: string): Promise<{ container: Docker.Container; ip: string }> {
  const container = await o.docker.createContainer({
    Image: image,
    Cmd: cmd,
    Env: containerEnvList(cell.platform.info),
    Labels: { ...o.labels, "dev.distcheck.cell": cell.id },
    platform: cell.platform.info.docker,
    HostConfig: { Init: true, Memory: cell.platform.memoryMiB * 1024 * 1024, PidsLimit: cell.platform.pidsLimit, NetworkMode: o.network },
    NetworkingConfig: { EndpointsConfig: { [o.network]: { Aliases: alias ? [alias] : [] } } },
  } as Docker.ContainerCreateOptions);
  if (files.length > 0) await container.putArchive(await tarFiles(files), { path: "/" });
  await container.start();
  const info = await container.inspect();
  return { container, ip: info.NetworkSettings.Networks[o.network]?.IPAddress ?? "" };
}

async function runSession(o: FloorOptions, s: SessionPlan): Promise<FloorSession> {
  const phases = zeroPhases();
  const result: FloorSession = { name: s.name, cell: s.cell.id, cases: s.cases.length, calls: 0, unexpectedAnswers: 0, phases };
  const timed = async <T>(phase: Phase, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      phases[phase] += performance.now() - t0;
    }
  };
  const readyTimeout = READY_BOUND_MS * o.factor(s.cell);
  let container: Docker.Container | undefined;
  try {
    let image = s.image;
    const preSteps: Step[] = [];
    await timed("image", async () => {
      await o.docker.getImage(s.image).inspect();
      if (!s.wheelLayer) return;
      const tag = wheelLayerTag({ hostTag: s.image, platform: s.cell.platform.info, files: s.wheelLayer.files, pip: s.wheelLayer.pip });
      const held = await o.docker.getImage(tag).inspect().then(() => true, () => false);
      result.wheelLayerUsed = held;
      if (held) image = tag;
      else preSteps.push({ op: "pip", args: s.wheelLayer.pip.slice(3) });
    });
    const started = await timed("container", () => startContainer(o, s.cell, image, s.files.map((f) => ({ path: f.target, content: f.content })), ["sleep", "infinity"]));
    container = started.container;
    const base = `http://${started.ip}:${o.adapter.port}`;
    const launch = o.adapter.launch({});
    let hostExit: Promise<void> | undefined;
    const boot = async (): Promise<void> => {
      hostExit = (await execFollowed(container!, o.docker, ["/bin/sh", "-c", `echo $$ > ${o.adapter.pidFile}; exec ${launch.command.join(" ")}`])).exited;
      let exited = false;
      void hostExit.then(() => (exited = true));
      await until(`${s.cell.id} ${s.name}: the host ready`, readyTimeout, async () => {
        if (exited) throw new Error(`${s.cell.id} ${s.name}: the host exited before it was ready`);
        return (await get(`${base}/readyz`))?.status === 200;
      });
    };
    for (const step of [...preSteps, ...s.steps]) {
      if (o.signal?.aborted) throw new Error("interrupted");
      switch (step.op) {
        case "pip":
          await timed("install", async () => {
            const r = await exec(container!, o.docker, ["python3", "-m", "pip", ...step.args]);
            if (r.exitCode !== 0) throw new Error(`pip ${step.args.join(" ")} exited ${r.exitCode}: ${r.output.slice(-300)}`);
          });
          break;
        case "boot":
          await timed("boot", boot);
          break;
        case "restart":
          await timed("boot", async () => {
            await exec(container!, o.docker, ["/bin/sh", "-c", `kill -TERM "$(cat ${o.adapter.pidFile})"`]);
            await hostExit;
            await boot();
          });
          break;
        case "serve":
          break;
        case "call":
          await timed("assertions", async () => {
            result.calls += 1;
            const status = await fetch(`${base}${step.path}`, {
              method: step.method,
              ...(step.body === undefined ? {} : { body: JSON.stringify(step.body), headers: { "content-type": "application/json" } }),
              signal: AbortSignal.timeout(600_000),
            })
              .then(async (r) => (await r.arrayBuffer(), r.status))
              .catch((error: unknown) => `no answer (${(error as Error).message})`);
            if (!new RegExp(step.status).test(String(status))) {
              result.unexpectedAnswers += 1;
              result.firstUnexpected ??= `${step.method} ${step.path}: ${status}, (a) gets ${step.status}`;
            }
          });
          break;
        case "wait":
          await timed("assertions", () =>
            until(`${s.cell.id} ${s.name}: ${step.path} ${step.query}`, step.timeoutS * 1000, async () => {
              result.calls += 1;
              const r = await get(`${base}${step.path}`);
              return r !== undefined && new RegExp(step.expect).test(field(r.body, step.query));
            }),
          );
          break;
      }
    }
  } catch (error) {
    result.error = (error as Error).message;
  } finally {
    if (container) await timed("teardown", () => container!.remove({ force: true, v: true }).catch(() => undefined));
  }
  return result;
}

/** Runs every session, `concurrency` at a time, the emulated (slowest) first. */
export async function runFloor(o: FloorOptions & { runId: string }): Promise<FloorResult> {
  const phases = zeroPhases();
  const servers: Docker.Container[] = [];
  const limit = pLimit(o.concurrency);
  try {
    // The file servers start first (the URL cases of any host download from them).
    await Promise.all(
      o.servers.map((srv) =>
        limit(async () => {
          const t0 = performance.now();
          const s = await startContainer(o, srv.cell, srv.image, srv.files.map((f) => ({ path: `/srv/files/${f.name}`, content: f.content })), ["python3", "-m", "http.server", String(srv.port), "--directory", "/srv/files"], srv.alias);
          servers.push(s.container);
          await until(`the file server of ${srv.cell.id}`, READY_BOUND_MS * o.factor(srv.cell), async () => (await get(`http://${s.ip}:${srv.port}/`)) !== undefined);
          phases.container += performance.now() - t0;
        }),
      ),
    );
    const order = [...o.sessions].sort((a, b) => o.factor(b.cell) - o.factor(a.cell) || b.steps.length - a.steps.length);
    const sessions = await Promise.all(
      order.map((s) =>
        limit(async () => {
          const r = await runSession(o, s);
          o.progress(`floor ${r.cell} ${r.name}: ${r.cases} case(s), ${r.calls} call(s)${r.error ? `, stopped: ${r.error}` : ""}`);
          return r;
        }),
      ),
    );
    for (const s of sessions) for (const [p, ms] of Object.entries(s.phases) as Array<[Phase, number]>) phases[p] += ms;
    return { runId: o.runId, wallMs: 0, concurrency: o.concurrency, sessions, servers: o.servers.length, phases };
  } finally {
    const t0 = performance.now();
    await Promise.all(servers.map((c) => c.remove({ force: true, v: true }).catch(() => undefined)));
    phases.teardown += performance.now() - t0;
  }
}

/** runFloor with its wall time, from the first container to the last removal. */
export async function timedFloor(o: FloorOptions & { runId: string }): Promise<FloorResult> {
  const t0 = performance.now();
  const r = await runFloor(o);
  return { ...r, wallMs: performance.now() - t0 };
}
