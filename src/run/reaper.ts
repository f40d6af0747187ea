import net from "node:net";
import Docker from "dockerode";
import { dockerOptions } from "../engine/docker-engine.ts";
import { InfrastructureError } from "../errors/distcheck-error.ts";
import { LABELS, runLabels, type RunIdentity } from "./run-identity.ts";

/**
 * A reaper that outlives the run, the way testcontainers' ryuk does it but from an image distcheck
 * builds offline: a small container with the engine's socket, holding a TCP connection from the
 * run. When every connection is gone and none comes back within `graceS`, it removes every
 * container, network and volume carrying the run's label, then itself. A run that ends normally
 * removes it with the rest of its labelled containers (it carries the run's label too).
 */

const PORT = 7070;
export const REAPER_LABEL = "dev.distcheck.reaper";

/** The reaper's program: Python's standard library only, the Engine API over the mounted socket. */
export const REAPER_PY = String.raw`
import http.client, json, os, socket, sys, threading, time, urllib.parse
RUN = os.environ["REAPER_RUN"]
GRACE = float(os.environ.get("REAPER_GRACE", "5"))
FIRST = float(os.environ.get("REAPER_FIRST_CONNECTION", "120"))
ME = socket.gethostname()
# Restarted with the engine (restart policy "always"): the run, if it is alive, reconnects within
# seconds; if it died meanwhile, reap after a short wait instead of the first start's long one.
MARK = "/tmp/distcheck-reaper-started"
if os.path.exists(MARK):
    FIRST = float(os.environ.get("REAPER_AFTER_RESTART", "20"))
    print("reaper: restarted with the engine; waiting " + str(FIRST) + " s for the run to reconnect", flush=True)
open(MARK, "w").close()

class UnixConnection(http.client.HTTPConnection):
    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect("/var/run/docker.sock")
        self.sock = s

def api(method, path):
    c = UnixConnection("localhost", timeout=30)
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
        others = [c for c in json.loads(body) if not c["Id"].startswith(ME)]
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
    api("DELETE", "/containers/" + ME + "?force=1&v=1")
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
server.bind(("0.0.0.0", ${PORT}))
server.listen(64)

def accept():
    while True:
        conn, _ = server.accept()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        threading.Thread(target=hold, args=(conn,), daemon=True).start()

threading.Thread(target=accept, daemon=True).start()
print("reaper: ready for run " + RUN, flush=True)
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

/** The host and port the run reaches the reaper at: the published port on the engine's machine. */
function reachable(endpoint: string, published: number): { host: string; port: number } {
  if (endpoint.startsWith("unix://") || endpoint.startsWith("npipe://")) return { host: "127.0.0.1", port: published };
  return { host: new URL(endpoint.replace(/^ssh:/, "tcp:")).hostname, port: published };
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
    const container = await docker.createContainer({
      Image: image,
      Cmd: ["python3", "-c", REAPER_PY],
      Env: [`REAPER_RUN=${run.runId}`, `REAPER_GRACE=${options.graceS ?? 5}`],
      Labels: { ...runLabels(run), [REAPER_LABEL]: "true" },
      ExposedPorts: { [`${PORT}/tcp`]: {} },
      HostConfig: {
        Binds: ["/var/run/docker.sock:/var/run/docker.sock"],
        PortBindings: { [`${PORT}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: "" }] },
        // It comes back when the engine restarts (the run's containers do not), and then reaps a run
        // that died meanwhile; it removes itself when done, so nothing restarts it after that.
        RestartPolicy: { Name: "always" },
      },
    });
    await container.start();
    let closed = false;
    let socket: net.Socket | undefined;
    /** Connects to the reaper's published port, which changes when the engine restarts it. */
    const connect = async (timeoutMs: number): Promise<void> => {
      const info = await container.inspect();
      const published = Number(info.NetworkSettings.Ports?.[`${PORT}/tcp`]?.[0]?.HostPort);
      const { host, port } = reachable(endpoint, published);
      const s = await connectWithRetry(host, port, timeoutMs);
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
