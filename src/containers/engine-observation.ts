import { ContainerError } from "../errors/distcheck-error.ts";
import type { PathStat } from "./cell-container.ts";

// What the harness learns of a container through the Engine API alone, with no process started in
// it: under qemu-user every process start costs hundreds of milliseconds.

/** Go's os.FileMode bits, as the archive endpoint's stat header carries them. */
const GO_MODE = { dir: 31, symlink: 27, device: 26, namedPipe: 25, socket: 24, setuid: 23, setgid: 22, charDevice: 21, sticky: 20 } as const;

/** Whether bit `n` of a Go FileMode is set (the values pass 2^31, beyond JavaScript's 32-bit bitwise operators). */
const hasBit = (mode: number, n: number): boolean => Math.floor(mode / 2 ** n) % 2 === 1;

/**
 * A path's stat from the archive endpoint's `X-Docker-Container-Path-Stat` header (base64 JSON of
 * name, size, Go FileMode, RFC 3339 mtime and, for a link, where it leads resolved in the container).
 */
export function pathStatOf(header: string | undefined, path: string): PathStat {
  if (!header) throw new ContainerError("container_stat_unreadable", `The engine's stat of ${path} carried no X-Docker-Container-Path-Stat header; the engine may be too old for distcheck (\`docker version\`).`);
  const raw = JSON.parse(Buffer.from(header, "base64").toString("utf8")) as { size: number; mode: number; mtime: string; linkTarget?: string };
  const m = raw.mode;
  const type = hasBit(m, GO_MODE.dir)
    ? "d"
    : hasBit(m, GO_MODE.symlink)
      ? "l"
      : hasBit(m, GO_MODE.namedPipe)
        ? "p"
        : hasBit(m, GO_MODE.socket)
          ? "s"
          : hasBit(m, GO_MODE.device)
            ? hasBit(m, GO_MODE.charDevice)
              ? "c"
              : "b"
            : "f";
  const special = (hasBit(m, GO_MODE.setuid) ? 0o4000 : 0) + (hasBit(m, GO_MODE.setgid) ? 0o2000 : 0) + (hasBit(m, GO_MODE.sticky) ? 0o1000 : 0);
  return { type, size: raw.size, mode: (special + (m % 0o1000)).toString(8), mtime: raw.mtime, linkTarget: type === "l" ? (raw.linkTarget ?? "") : "" };
}

/** ELF e_machine numbers, named as `uname -m` names the machine that runs them. */
const ELF_MACHINES: Record<number, string> = { 3: "i686", 8: "mips", 20: "ppc", 21: "ppc64", 22: "s390x", 40: "armv7l", 62: "x86_64", 183: "aarch64", 243: "riscv64" };

/**
 * The machine an ELF program is built for, as `uname -m` names it when that program runs (natively
 * or under qemu-user); undefined when the bytes are not an ELF file.
 */
export function elfMachine(bytes: Buffer): string | undefined {
  if (bytes.length < 20 || bytes.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const machine = bytes[5] === 2 ? bytes.readUInt16BE(18) : bytes.readUInt16LE(18);
  return ELF_MACHINES[machine] ?? `ELF machine ${machine}`;
}

/** What the engine says of a container just started, for `awaitFirstProcess`. */
export interface StartedContainerProbe {
  /** Whether the container still runs (inspect). */
  running(): Promise<boolean>;
  /** Its processes' command lines (top). */
  commands(): Promise<string[]>;
}

/**
 * Waits until the container's first process has become its command: docker-init (pid 1, a native
 * binary of the engine's machine) forks and execs the command, and only the kernel's binfmt handler
 * (qemu-user) can execute a foreign one. Resolves "running" once top lists a process that is not
 * docker-init, "exited" when the container stopped first (its command could not be executed), and
 * "timeout" when neither happened within `timeoutMs`.
 */
export async function awaitFirstProcess(probe: StartedContainerProbe, timeoutMs = 60_000): Promise<"running" | "exited" | "timeout"> {
  const deadline = performance.now() + timeoutMs;
  let delay = 10;
  for (;;) {
    if (!(await probe.running())) return "exited";
    // top fails on a container that stopped between the two calls: the next round sees it stopped.
    const commands = await probe.commands().catch(() => undefined);
    if (commands?.some((c) => !/^\S*docker-init(\s|$)/.test(c))) return "running";
    if (performance.now() >= deadline) return "timeout";
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
}
