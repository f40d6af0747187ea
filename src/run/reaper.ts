import net from "node:net";
import Docker from "dockerode";
import { dockerOptions } from "../engine/docker-engine.ts";
import { InfrastructureError } from "../errors/distcheck-error.ts";
import { LABELS, runLabels, type RunIdentity } from "./run-identity.ts";

/**
 * A reaper that outlives the run, the way testcontainers' ryuk does it but from an image distcheck
 * builds offline: a small container on the run's engine that talks to that engine (its socket, or
 * its tcp:// address: `reaperPlacement`), holding a TCP connection from the run. When every
 * connection is gone and none comes back within `graceS`, it removes every container, network and
 * volume carrying the run's label, then itself. A run that ends normally removes it with the rest
 * of its labelled containers (it carries the run's label too).
 */

const PORT = 7070;
export const REAPER_LABEL = "dev.distcheck.reaper";

/** The reaper's program: Python's standard library only, the Engine API over the mounted socket. */
export const REAPER_PY = String.raw`
import http.client, json, os, socket, sys, threading, time, urllib.parse
RUN = os.environ["REAPER_RUN"]
GRACE = float(os.environ.get("REAPER_GRACE", "5"))
FIRST = float(os.environ.get("REAPER_FIRST_CONNECTION", "120"))
# The engine the run's containers are on: its socket mounted here, or its TCP address (host network).
ENGINE = os.environ.get("REAPER_ENGINE", "unix:///var/run/docker.sock")
LISTEN = os.environ.get("REAPER_LISTEN", "0.0.0.0")
PORT = int(os.environ.get("REAPER_PORT", "${PORT}"))
# Restarted with the engine (restart policy "always"): the run, if it is alive, reconnects within
# seconds; if it died meanwhile, reap after a short wait instead of the first start's long one. The
# mark keeps the port it listened on, where the run looks for it again.
MARK = "/tmp/distcheck-reaper-started"
if os.path.exists(MARK):
    FIRST = float(os.environ.get("REAPER_AFTER_RESTART", "20"))
    PORT = int(open(MARK).read() or PORT)
    print("reaper: restarted with the engine; waiting " + str(FIRST) + " s for the run to reconnect", flush=True)

class UnixConnection(http.client.HTTPConnection):
    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(ENGINE[len("unix://"):])
        self.sock = s

def connection():
    if ENGINE.startswith("unix://"):
        return UnixConnection("localhost", timeout=30)
    address = urllib.parse.urlsplit(ENGINE)
    return http.client.HTTPConnection(address.hostname, address.port or 2375, timeout=30)

def api(method, path):
    c = connection()
    c.request(method, path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body

def reap(reason):
    print("reaper: " + reason + "; removing everything labelled " + RUN, flush=True)
    f = urllib.parse.quote(json.dumps({"label": ["dev.distcheck.run=" + RUN]}))
    for _ in range(3):
        _, body = api("GET", "/containers/json?all=1&filters=" + f)
        # Itself last (it carries the run's label too); by label, since on the host network its
        # hostname is the machine's, not its container id.
        mine = [c for c in json.loads(body) if (c.get("Labels") or {}).get("${REAPER_LABEL}")]
        others = [c for c in json.loads(body) if not (c.get("Labels") or {}).get("${REAPER_LABEL}")]
        for c in others:
            api("DELETE", "/containers/" + c["Id"] + "?force=1&v=1")
        _, body = api("GET", "/networks?filters=" + f)
        for n in json.loads(body):
            api("DELETE", "/networks/" + n["Id"])
        _, body = api("GET", "/volumes?filters=" + f)
        for v in json.loads(body).get("Volumes") or []:
            api("DELETE", "/volumes/" + v["Name"] + "?force=1")
        if not others:
            break
        time.sleep(1)
    for c in mine:
        api("DELETE", "/containers/" + c["Id"] + "?force=1&v=1")
    sys.exit(0)

lock = threading.Lock()
state = {"clients": 0, "seen": False, "since": time.monotonic()}

def hold(conn):
    with lock:
        state["clients"] += 1
        state["seen"] = True
    try:
        conn.sendall(b"ready\n")
        while conn.recv(64):
            pass
    except OSError:
        pass
    finally:
        with lock:
            state["clients"] -= 1
            if state["clients"] == 0:
                state["since"] = time.monotonic()

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    server.bind((LISTEN, PORT))
except OSError:
    server.bind((LISTEN, 0))
server.listen(64)
PORT = server.getsockname()[1]
with open(MARK, "w") as mark:
    mark.write(str(PORT))

def accept():
    while True:
        conn, _ = server.accept()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        threading.Thread(target=hold, args=(conn,), daemon=True).start()

threading.Thread(target=accept, daemon=True).start()
print("reaper: ready for run " + RUN + " on port " + str(PORT), flush=True)
while True:
    time.sleep(0.25)
    with lock:
        idle = time.monotonic() - state["since"]
        if state["clients"] == 0 and state["seen"] and idle >= GRACE:
            break
        if not state["seen"] and idle >= FIRST:
            break
reap("the run's connection is gone" if state["seen"] else "the run never connected")
`;

export interface ReaperHandle {
  containerId: string;
  /** Closes the run's connection; the reaper then removes everything of the run after its grace. Normally the run's own sweep removes it first. */
  close(): void;
}

/**
 * Where a reaper runs on its engine: how it reaches that engine (never another one on the same
 * machine) and how the run reaches it.
 */
export interface ReaperPlacement {
  /** Variables of the reaper program (REAPER_ENGINE, REAPER_LISTEN, REAPER_PORT). */
  env: string[];
  hostConfig: { Binds?: string[]; NetworkMode?: string; PortBindings?: Record<string, Array<{ HostIp: string; HostPort: string }>> };
  exposedPorts?: Record<string, object>;
  /** The run connects to this host, at the port the engine published (`published`) or the reaper printed (`printed`). */
  host: string;
  port: "published" | "printed";
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

/**
 * - a local socket (`unix://PATH`): that socket mounted (a second engine on the machine has its own,
 *   not /var/run/docker.sock), the reaper's port published on 127.0.0.1;
 * - `tcp://HOST:PORT`: the reaper on the engine machine's network, talking to the engine at the same
 *   address the run does and listening on a free port it prints (on loopback only for a loopback
 *   engine); no mounted socket names that engine for sure, and a port published on 127.0.0.1 of a
 *   remote machine is out of the run's reach;
 * - `ssh://`: the engine machine's /var/run/docker.sock, the port published there on 127.0.0.1.
 */
export function reaperPlacement(endpoint: string): ReaperPlacement {
  const url = new URL(endpoint);
  if (url.protocol === "tcp:") {
    return {
      env: [`REAPER_ENGINE=tcp://${url.host}`, `REAPER_LISTEN=${LOOPBACK.has(url.hostname) ? "127.0.0.1" : "0.0.0.0"}`, "REAPER_PORT=0"],
      hostConfig: { NetworkMode: "host" },
      host: url.hostname,
      port: "printed",
    };
  }
  const socket = url.protocol === "unix:" ? url.pathname : "/var/run/docker.sock";
  return {
    env: [],
    hostConfig: { Binds: [`${socket}:/var/run/docker.sock`], PortBindings: { [`${PORT}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: "" }] } },
    exposedPorts: { [`${PORT}/tcp`]: {} },
    host: url.protocol === "unix:" ? "127.0.0.1" : url.hostname,
    port: "published",
  };
}

/** The port the reaper printed last (it prints it again, the same, when the engine restarts it); undefined before it listens. */
async function printedPort(container: Docker.Container): Promise<number | undefined> {
  const log = (await container.logs({ stdout: true, stderr: true })) as unknown as Buffer;
  const found = [...Buffer.from(log).toString("latin1").matchAll(/reaper: ready for run \S+ on port (\d+)/g)].at(-1);
  return found ? Number(found[1]) : undefined;
}

/** A python3 image the engine already has: one of distcheck's base images, the engine's own architecture first. */
async function reaperImage(docker: Docker): Promise<string | undefined> {
  const images = await docker.listImages({ filters: { label: ["dev.distcheck.image=base"] } });
  const arch = (await docker.version()).Arch;
  const tags = images.flatMap((i) => i.RepoTags ?? []).filter((t) => !t.endsWith(":<none>"));
  const native = arch === "arm64" ? ":linux-aarch64-" : ":linux-x86_64-";
  return tags.find((t) => t.includes(native)) ?? undefined;
}

/**
 * Starts the run's reaper on an engine and connects to it. Resolves undefined (with the reason) when
 * the engine has no base image to start it from yet (the first run on a machine builds them; until
 * then the label sweep of the next run is the only cleanup). Engine failures are infrastructure errors.
 */
export async function startReaper(endpoint: string, run: RunIdentity, options: { graceS?: number } = {}): Promise<ReaperHandle | { skipped: string }> {
  const docker = new Docker(dockerOptions(endpoint));
  try {
    const image = await reaperImage(docker);
    if (!image) return { skipped: "no distcheck base image of this engine's architecture yet" };
    const placement = reaperPlacement(endpoint);
    const container = await docker.createContainer({
      Image: image,
      Cmd: ["python3", "-c", REAPER_PY],
      Env: [`REAPER_RUN=${run.runId}`, `REAPER_GRACE=${options.graceS ?? 5}`, ...placement.env],
      Labels: { ...runLabels(run), [REAPER_LABEL]: "true" },
      ...(placement.exposedPorts ? { ExposedPorts: placement.exposedPorts } : {}),
      HostConfig: {
        ...placement.hostConfig,
        // It comes back when the engine restarts (the run's containers do not), and then reaps a run
        // that died meanwhile; it removes itself when done, so nothing restarts it after that.
        RestartPolicy: { Name: "always" },
      },
    });
    await container.start();
    let closed = false;
    let socket: net.Socket | undefined;
    /** Connects to the reaper's port: a published one changes when the engine restarts it. */
    const connect = async (timeoutMs: number): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      let port: number | undefined;
      if (placement.port === "published") port = Number((await container.inspect()).NetworkSettings.Ports?.[`${PORT}/tcp`]?.[0]?.HostPort);
      else while ((port = await printedPort(container)) === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      if (port === undefined) throw new Error(`the reaper printed no port within ${timeoutMs} ms`);
      const s = await connectWithRetry(placement.host, port, Math.max(deadline - Date.now(), 1_000));
      // The socket must not keep the run alive, nor its errors crash it: the reaper acts on its loss.
      s.unref();
      s.on("error", () => undefined);
      s.on("close", () => {
        if (!closed) void reconnect();
      });
      socket = s;
      if (closed) s.destroy();
    };
    /** The engine restarted (or the proxy dropped the connection): hold the run again as soon as the reaper is back. */
    const reconnect = async (): Promise<void> => {
      while (!closed) {
        try {
          await connect(5_000);
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 500).unref());
        }
      }
    };
    await connect(20_000);
    return {
      containerId: container.id,
      close: () => {
        closed = true;
        socket?.destroy();
      },
    };
  } catch (cause) {
    throw new InfrastructureError("reaper_start_failed", `could not start the run's reaper on ${endpoint}: ${(cause as Error).message}. Check the engine (\`npx distcheck doctor\`); without a reaper a killed run is cleaned up by the next run's sweep.`, { cause });
  }
}

/** Connects once the reaper listens (it needs a moment to start python, longer under load). */
async function connectWithRetry(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const socket = await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ host, port }, () => resolve(s));
        s.once("error", reject);
      });
      // docker-proxy accepts before the reaper listens: only the reaper's own "ready" line counts.
      const ready = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 3000);
        socket.once("data", (d: Buffer) => {
          clearTimeout(t);
          resolve(d.toString().startsWith("ready"));
        });
        socket.once("close", () => {
          clearTimeout(t);
          resolve(false);
        });
      });
      if (ready) {
        socket.setKeepAlive(true, 1000);
        return socket;
      }
      socket.destroy();
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the reaper did not accept a connection at ${host}:${port} within ${timeoutMs} ms (${(last as Error)?.message ?? "closed at once"})`);
}

export { LABELS };
