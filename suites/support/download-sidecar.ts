import path from "node:path";
import { request } from "undici";
import { inject } from "vitest";
import type { FileToPut, StartedCellContainer } from "../../src/containers/cell-container.ts";
import { cellEndpoint, TestcontainersCellFactory } from "../../src/containers/testcontainers-cell-factory.ts";
import { testcontainersOn } from "../../src/containers/testcontainers-engine.ts";
import type { FixtureIndexEntry } from "../../src/fixtures/build/fixture-index.ts";
import { crc32Zeros } from "../../src/fixtures/encoding/crc32.ts";
import type { Cell } from "../../src/matrix/matrix.ts";
import { fixtureBytes } from "./fixture-files.ts";
import { poll } from "./timeline.ts";

/** The port the sidecar's server listens on inside its container. */
export const SIDECAR_PORT = 8080;
const SCRIPT = "/srv/distcheck-sidecar.py";
const FILES = "/srv/files";

// The server a download sidecar runs, Python standard library only (it runs on the cell's base
// image, under qemu on foreign platforms). Every route ends in the served file's name, so a host
// that reads format, platform or id from the URL's last segment sees the fixture's real name.
//
//   /files/<name>                 the file, with its Content-Length
//   /nolength/<name>              the file without Content-Length (the end of the body is the close)
//   /truncate/<name>              Content-Length of the whole file, half the bytes, then close
//   /stall/<name>                 reads the request and never answers (until the client gives up)
//   /drip/<name>                  headers with the file's Content-Length, then one byte per 200 ms
//   /big/<bytes>/<length>/<name>  <bytes> bytes of a repeating pattern; <length> is `declared`
//                                 (Content-Length: bytes), `none` (close-delimited) or `lying`
//                                 (Content-Length: 1024 while more follows)
//   /log                          JSON: one record per finished request (what was sent, when)
//
// Times are time.monotonic() in ms: the kernel clock every container and the harness share.
const SERVER = String.raw`
import json, os, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FILES = sys.argv[1]
LOG = []
LOG_LOCK = threading.Lock()
CHUNK = 1 << 16


def now_ms():
    return time.monotonic() * 1000


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def record(self, **fields):
        with LOG_LOCK:
            LOG.append(dict(path=self.path, start_ms=self.start_ms, end_ms=now_ms(), **fields))

    def head(self, status, length=None, kind="application/octet-stream"):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Connection", "close")
        self.end_headers()

    def send_bytes(self, data):
        try:
            self.wfile.write(data)
            self.wfile.flush()
            return True
        except OSError:
            return False

    def wait_for_close(self, limit_s):
        # Returns how long the client kept the connection open (it closes when it gives up).
        deadline = time.monotonic() + limit_s
        self.connection.settimeout(0.05)
        while time.monotonic() < deadline:
            try:
                if self.connection.recv(1) == b"":
                    return "client_closed"
            except socket.timeout:
                continue
            except OSError:
                return "client_closed"
        return "limit"

    def read_file(self, name):
        with open(os.path.join(FILES, os.path.basename(name)), "rb") as handle:
            return handle.read()

    def do_GET(self):
        self.start_ms = now_ms()
        parts = self.path.lstrip("/").split("/")
        mode = parts[0]
        try:
            if mode == "healthz":
                body = b'{"status":"ok"}'
                self.head(200, len(body), "application/json")
                self.send_bytes(body)
                return
            if mode == "log":
                with LOG_LOCK:
                    body = json.dumps(LOG).encode()
                self.head(200, len(body), "application/json")
                self.send_bytes(body)
                return
            if mode == "files":
                data = self.read_file(parts[-1])
                self.head(200, len(data))
                ok = self.send_bytes(data)
                self.record(mode=mode, sent=len(data) if ok else -1, outcome="complete" if ok else "client_closed")
                return
            if mode == "nolength":
                data = self.read_file(parts[-1])
                self.head(200, None)
                ok = self.send_bytes(data)
                self.record(mode=mode, sent=len(data) if ok else -1, outcome="complete" if ok else "client_closed")
                self.close_connection = True
                return
            if mode == "truncate":
                data = self.read_file(parts[-1])
                half = data[: len(data) // 2]
                self.head(200, len(data))
                self.send_bytes(half)
                self.record(mode=mode, sent=len(half), declared=len(data), outcome="truncated")
                self.close_connection = True
                return
            if mode == "stall":
                outcome = self.wait_for_close(600)
                self.record(mode=mode, sent=0, outcome=outcome)
                self.close_connection = True
                return
            if mode == "drip":
                data = self.read_file(parts[-1])
                self.head(200, len(data))
                sent = 0
                outcome = "complete"
                for i in range(len(data)):
                    if not self.send_bytes(data[i:i + 1]):
                        outcome = "client_closed"
                        break
                    sent += 1
                    time.sleep(0.2)
                self.record(mode=mode, sent=sent, outcome=outcome)
                return
            if mode == "big":
                total, length = int(parts[1]), parts[2]
                declared = {"declared": total, "none": None, "lying": 1024}[length]
                self.head(200, declared)
                pattern = (b"distcheck-oversized-download\n" * (CHUNK // 29 + 1))[:CHUNK]
                sent = 0
                outcome = "complete"
                while sent < total:
                    chunk = pattern[: min(CHUNK, total - sent)]
                    if not self.send_bytes(chunk):
                        outcome = "client_closed"
                        break
                    sent += len(chunk)
                self.record(mode=mode, sent=sent, declared=declared, outcome=outcome)
                self.close_connection = True
                return
            self.head(404, 0)
        except FileNotFoundError:
            self.head(404, 0)


server = ThreadingHTTPServer(("0.0.0.0", int(sys.argv[2])), Handler)
server.daemon_threads = True
print("listening", flush=True)
server.serve_forever()
`;

/** One request the sidecar served, as it recorded it. */
export interface SidecarRequest {
  path: string;
  mode: "files" | "nolength" | "truncate" | "stall" | "drip" | "big";
  /** Bytes of the body written before the exchange ended (-1: the write failed). */
  sent: number;
  declared?: number | null;
  /** `complete`, `truncated`, `client_closed` (the client hung up first) or `limit`. */
  outcome: string;
  /** time.monotonic() in ms inside the sidecar (the clock the harness and the host share). */
  start_ms: number;
  end_ms: number;
}

/** Bytes a suite made itself (not a built fixture) for the sidecar to serve under `name`. */
export interface ServedFile {
  name: string;
  content: Buffer;
}

/** What the sidecar serves: a built fixture (by its file's base name) or a file a suite made. */
export type Served = FixtureIndexEntry | ServedFile;

/** The name a served file has in every route's last segment. */
export function servedName(file: Served): string {
  return "content" in file ? file.name : path.basename(file.file);
}

/** A file-serving HTTP server in its own container on the run's internal network. */
export class DownloadSidecar implements AsyncDisposable {
  private constructor(readonly container: StartedCellContainer) {}

  /**
   * Starts a sidecar from the cell's base image on `network` (the network a booted host is on:
   * `networkOf(host.container)`), serving `files` by their base names (or the names a suite gave them).
   */
  static async start(cell: Cell, network: string, files: Served[], timingFactor = 1): Promise<DownloadSidecar> {
    const put: FileToPut[] = [{ target: SCRIPT, content: SERVER }, ...files.map((f) => ({ target: `${FILES}/${servedName(f)}`, content: "content" in f ? f.content : fixtureBytes(f) }))];
    const container = await new TestcontainersCellFactory().start(cell, {
      image: inject("cellImages")[cell.id]!.base,
      network: { name: network },
      files: put,
      command: ["python3", SCRIPT, FILES, String(SIDECAR_PORT)],
      labels: { "dev.distcheck.role": "download-sidecar" },
    });
    const sidecar = new DownloadSidecar(container);
    try {
      await sidecar.waitListening(20_000 * timingFactor);
    } catch (error) {
      await container.stop().catch(() => undefined);
      throw error;
    }
    return sidecar;
  }

  /** Base URL as the host (and the harness) reach it on the internal network. */
  get url(): string {
    return `http://${this.container.ipAddress}:${SIDECAR_PORT}`;
  }

  /** URL of a served fixture. */
  fileUrl(entry: Served): string {
    return `${this.url}/files/${encodeURIComponent(servedName(entry))}`;
  }

  /** URL of a served file whose answer declares no Content-Length: the body ends when the sidecar closes. */
  noLengthUrl(entry: Served): string {
    return `${this.url}/nolength/${encodeURIComponent(servedName(entry))}`;
  }

  /** A URL whose answer claims the whole file but carries half of it, then closes. */
  truncatedUrl(entry: Served): string {
    return `${this.url}/truncate/${encodeURIComponent(servedName(entry))}`;
  }

  /** A URL that accepts the connection and never answers. */
  stallUrl(entry: Served): string {
    return `${this.url}/stall/${encodeURIComponent(servedName(entry))}`;
  }

  /** A URL that answers at once, then sends the file one byte per 200 ms. */
  dripUrl(entry: Served): string {
    return `${this.url}/drip/${encodeURIComponent(servedName(entry))}`;
  }

  /** A URL serving `bytes` bytes; `length` says what Content-Length the answer declares. */
  bigUrl(bytes: number, length: "declared" | "none" | "lying", name = "oversized-1.0.0.tar.gz"): string {
    return `${this.url}/big/${bytes}/${length}/${encodeURIComponent(name)}`;
  }

  /** What the sidecar served so far (finished exchanges only). */
  async requests(): Promise<SidecarRequest[]> {
    const res = await request(`${this.url}/log`);
    return (await res.body.json()) as SidecarRequest[];
  }

  /** Waits until an exchange whose path ends with `suffix` has finished, backing off. */
  async waitForRequest(suffix: string, timeoutMs: number): Promise<SidecarRequest> {
    // Not waitFor, whose timeout is a product failure: this one stays the harness error it always was.
    const found = await poll(async () => (await this.requests()).filter((r) => r.path.endsWith(suffix)).at(-1), timeoutMs);
    if (!found) throw new Error(`The download sidecar in ${this.container.cell.id} recorded no finished request for ${suffix} within ${timeoutMs} ms`);
    return found;
  }

  private async waitListening(timeoutMs: number): Promise<void> {
    let last: unknown;
    const up = await poll(async () => {
      try {
        const res = await request(`${this.url}/healthz`, { headersTimeout: 2000, bodyTimeout: 2000 });
        await res.body.text();
        return res.statusCode === 200 ? true : undefined;
      } catch (error) {
        last = error;
        return undefined;
      }
    }, timeoutMs);
    if (!up) throw new Error(`The download sidecar in ${this.container.cell.id} did not answer ${this.url}/healthz within ${timeoutMs} ms (${String(last)})`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.container.stop();
  }
}

/**
 * The user-defined network a started container is on (a booted host is on the run's internal
 * network), so a sidecar joins the same one without knowing how it was named.
 */
export async function networkOf(container: StartedCellContainer): Promise<string> {
  const client = await testcontainersOn(cellEndpoint(container.cell));
  const info = await client.container.inspect(client.container.getById(container.id));
  const names = Object.keys(info.NetworkSettings.Networks ?? {}).filter((n) => !["bridge", "host", "none"].includes(n));
  if (names.length !== 1) throw new Error(`Container ${container.id} of ${container.cell.id} is on networks ${JSON.stringify(names)}; expected exactly one run network`);
  return names[0]!;
}

/** Largest payload of one stored deflate block (RFC 1951 §3.2.4: LEN is 16 bits). */
const STORED_BLOCK_MAX = 0xffff;

/**
 * `archive` (a .tar.gz) made exactly `total` bytes long by appending a second gzip member that
 * stores (does not compress) zero bytes. RFC 1952 §2.2: a gzip file is a series of members, and a
 * reader decompresses them one after the other; the extra member adds zero bytes after the tar's
 * own end-of-archive blocks, which tar readers stop at (and which are themselves zeros). The
 * archive holds the same files; only its compressed size changes, to the byte.
 */
export function padGzip(archive: Buffer, total: number): Buffer {
  if (archive[0] !== 0x1f || archive[1] !== 0x8b) throw new Error("padGzip pads a gzip file; the archive does not start with the gzip magic");
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]); // deflate, no flags, no mtime, unknown OS
  const pad = total - archive.length;
  // Each stored block costs 5 bytes of framing (a byte with BFINAL and BTYPE 00, LEN, NLEN); the
  // member costs its 10-byte header and 8-byte trailer.
  let blocks = 1;
  while (pad - header.length - 8 - 5 * blocks > STORED_BLOCK_MAX * blocks) blocks++;
  const zeros = pad - header.length - 8 - 5 * blocks;
  if (zeros < 0) throw new Error(`padGzip cannot make a ${archive.length}-byte archive ${total} bytes long: a gzip member needs at least ${header.length + 8 + 5} bytes`);
  const parts: Buffer[] = [archive, header];
  let left = zeros;
  for (let i = 0; i < blocks; i++) {
    const len = i === blocks - 1 ? left : Math.min(left, STORED_BLOCK_MAX);
    const frame = Buffer.alloc(5);
    frame[0] = i === blocks - 1 ? 1 : 0;
    frame.writeUInt16LE(len, 1);
    frame.writeUInt16LE(~len & 0xffff, 3);
    parts.push(frame, Buffer.alloc(len));
    left -= len;
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32Zeros(zeros), 0);
  trailer.writeUInt32LE(zeros % 2 ** 32, 4);
  parts.push(trailer);
  const out = Buffer.concat(parts);
  if (out.length !== total) throw new Error(`padGzip made ${out.length} bytes instead of ${total}; report this as a distcheck bug`);
  return out;
}
