import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import Docker from "dockerode";
import { processAlive } from "../run/run-identity.ts";

/**
 * Test support: a second Docker engine on this machine, the way a platform's own engine
 * (matrix.platforms[].engine) looks to distcheck, started and removed by the test, beside the
 * machine's engine and without touching it:
 *
 * - its own --data-root, --exec-root (its own containerd), --pidfile and config file in a temp dir;
 * - its own bridge interface and address pool (10.231.0.0/16): `--bridge=none` is not an option, since
 *   dockerd then deletes the interface `docker0` at start, the machine engine's default bridge
 *   (seen here: the main engine could not start a container on its default network until docker0 was
 *   made again); `--iptables=false`, `--ip-masq=false` and `--ip-forward=false` leave the machine's
 *   firewall and sysctls to the main engine;
 * - its executable is a link named `dockerd-second`, so whatever finds the machine's engine by its
 *   process name (faults/engine-control.ts) never finds this one; `setpriv --pdeathsig` stops it
 *   with the test process, and the next start sweeps what a killed test left (folder, bridge).
 */

const DIR_PREFIX = "distcheck-second-engine-";
const BRIDGE_PREFIX = "dcse";
/** The bridge's own subnet and the pool its networks come from: one /16 no host route may overlap. */
const SUBNET = "10.231.0.0/16";
const BRIDGE_ADDRESS = "10.231.255.1/24";
const ADDRESS_POOL = "base=10.231.0.0/17,size=24";

/** Why this machine cannot start a second engine, or undefined when it can. */
export function secondEngineUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (a second dockerd, a bridge interface)";
  if (!dockerdBinary()) return "no dockerd binary on this machine (/usr/sbin/dockerd, /usr/bin/dockerd)";
  for (const tool of ["ip", "setpriv"]) if (spawnSync(tool, ["--version"]).error) return `needs the \`${tool}\` command`;
  const routes = spawnSync("ip", ["-4", "route", "show", "root", SUBNET]).stdout?.toString() ?? "";
  const inside = spawnSync("ip", ["-4", "route", "show", "match", SUBNET]).stdout?.toString().split("\n").filter((l) => l && !l.startsWith("default")) ?? [];
  if (routes.trim() || inside.length > 0) return `the subnet ${SUBNET} a second engine would use overlaps a route of this machine: ${[routes.trim(), ...inside].filter(Boolean).join("; ")}`;
  return undefined;
}

function dockerdBinary(): string | undefined {
  return ["/usr/sbin/dockerd", "/usr/bin/dockerd", "/usr/local/bin/dockerd"].find((p) => existsSync(p));
}

/** A free TCP port on loopback; `preferred` when it is free. */
async function freePort(preferred?: number): Promise<number> {
  const listen = (port: number): Promise<number | undefined> =>
    new Promise((resolve) => {
      const server = net.createServer();
      server.once("error", () => resolve(undefined));
      server.listen(port, "127.0.0.1", () => {
        const got = (server.address() as net.AddressInfo).port;
        server.close(() => resolve(got));
      });
    });
  return (preferred !== undefined ? await listen(preferred) : undefined) ?? (await listen(0))!;
}

/** Mount points under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .map((p) => p.replace(/\\040/g, " "))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Removes the folder of an engine that is gone: first whatever is still mounted in it. */
function removeEngineDir(dir: string): void {
  for (const mount of mountsUnder(dir)) spawnSync("umount", ["-l", mount]);
  rmSync(dir, { recursive: true, force: true });
}

/** What a test killed before its teardown left: folders and bridges whose test process is gone. */
async function sweepStale(): Promise<void> {
  for (const entry of readdirSync(os.tmpdir())) {
    const pid = Number(new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(entry)?.[1]);
    if (pid && !processAlive(pid)) {
      const dir = path.join(os.tmpdir(), entry);
      const read = (file: string): string => (existsSync(file) ? readFileSync(file, "utf8").trim() : "");
      const daemon = Number(read(path.join(dir, "dockerd.pid")));
      if (processAlive(daemon) && read(`/proc/${daemon}/comm`) === "dockerd-second") {
        // It outlived its test (no pdeathsig reached it): stopped as the test would have, its containerd with it.
        process.kill(daemon, "SIGTERM");
        const deadline = Date.now() + 20_000;
        while (processAlive(daemon) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        if (processAlive(daemon)) process.kill(daemon, "SIGKILL");
      }
      removeEngineDir(dir);
    }
  }
  const links = spawnSync("ip", ["-o", "link", "show", "type", "bridge"]).stdout?.toString() ?? "";
  for (const name of links.split("\n").map((l) => / ([^:@ ]+)[:@]/.exec(l)?.[1]).filter((n): n is string => !!n)) {
    const pid = Number(new RegExp(`^${BRIDGE_PREFIX}(\\d+)$`).exec(name)?.[1]);
    if (pid && !processAlive(pid)) spawnSync("ip", ["link", "delete", name]);
  }
}

/** A second engine this test started. */
export interface SecondEngine {
  /** `tcp://127.0.0.1:PORT`, what a matrix platform's `engine` names. */
  endpoint: string;
  /** Its own unix socket. */
  socket: string;
  docker: Docker;
  /** Its folder (data, exec root, log). */
  dir: string;
  /** The end of its log, for a failure message. */
  logTail(): string;
  /** Removes every container and network on it, stops it, deletes its bridge and its folder. */
  stop(): Promise<void>;
}

/**
 * Starts a second dockerd listening on `tcp://127.0.0.1:<port>` (`preferredPort` when free) and its
 * own socket; resolves when it answers.
 */
export async function startSecondEngine(options: { preferredPort?: number; timeoutMs?: number } = {}): Promise<SecondEngine> {
  await sweepStale();
  const dir = mkdtempSync(path.join(os.tmpdir(), `${DIR_PREFIX}${process.pid}-`));
  const bridge = `${BRIDGE_PREFIX}${process.pid}`;
  const socket = path.join(dir, "docker.sock");
  const port = await freePort(options.preferredPort);
  const endpoint = `tcp://127.0.0.1:${port}`;
  const log = path.join(dir, "dockerd.log");
  const logTail = (): string => (existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(-15).join("\n") : "");
  let daemon: ChildProcess | undefined;
  const docker = new Docker({ socketPath: socket });

  const stop = async (): Promise<void> => {
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
      const exited = new Promise<void>((resolve) => daemon!.once("exit", () => resolve()));
      // Its containers and networks first: a network left behind would leave its bridge on the machine.
      for (const c of await docker.listContainers({ all: true }).catch(() => [])) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined);
      for (const n of await docker.listNetworks().catch(() => [])) if (!["bridge", "host", "none"].includes(n.Name)) await docker.getNetwork(n.Id).remove().catch(() => undefined);
      daemon.kill("SIGTERM");
      const killed = setTimeout(() => daemon!.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(killed);
    }
    spawnSync("ip", ["link", "delete", bridge]);
    removeEngineDir(dir);
  };

  try {
    const add = spawnSync("ip", ["link", "add", bridge, "type", "bridge"]);
    if (add.status !== 0) throw new Error(`could not create the bridge ${bridge}: ${add.stderr.toString().trim()}`);
    spawnSync("ip", ["addr", "add", BRIDGE_ADDRESS, "dev", bridge]);
    spawnSync("ip", ["link", "set", bridge, "up"]);
    const binary = path.join(dir, "dockerd-second");
    symlinkSync(dockerdBinary()!, binary);
    writeFileSync(path.join(dir, "daemon.json"), "{}\n");
    const args = [
      "--config-file", path.join(dir, "daemon.json"),
      "--data-root", path.join(dir, "data"),
      "--exec-root", path.join(dir, "exec"),
      "--pidfile", path.join(dir, "dockerd.pid"),
      "--host", endpoint,
      "--host", `unix://${socket}`,
      "--bridge", bridge,
      "--default-address-pool", ADDRESS_POOL,
      "--iptables=false",
      "--ip-masq=false",
      "--ip-forward=false",
      "--storage-driver", "overlay2",
    ];
    const out = openSync(log, "a");
    daemon = spawn("setpriv", ["--pdeathsig", "TERM", "--", binary, ...args], { stdio: ["ignore", out, out] });
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      if (daemon.exitCode !== null || daemon.signalCode !== null) throw new Error(`the second dockerd exited (${daemon.exitCode ?? daemon.signalCode}) before it answered:\n${logTail()}`);
      if (await docker.ping().then(() => true, () => false)) break;
      if (Date.now() > deadline) throw new Error(`the second dockerd did not answer within ${options.timeoutMs ?? 30_000} ms:\n${logTail()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, socket, docker, dir, logTail, stop };
}
