import { existsSync, readFileSync } from "node:fs";
import { statfs } from "node:fs/promises";
import os from "node:os";
import type { ContainerEngine } from "../engine/container-engine.ts";
import { isDistcheckError } from "../errors/distcheck-error.ts";
import { nativePlatform, platformInfo, type PlatformId } from "../platform/platforms.ts";

/** One prerequisite and its verdict. */
export interface DoctorCheck {
  name: string;
  ok: boolean;
  /** What was measured. */
  detail: string;
  /** The exact command or step that fixes it, when not ok. */
  fix?: string;
}

/** What the checks read; injectable so the checks are testable without the machine. */
export interface DoctorProbe {
  engines: Array<{ platforms: PlatformId[]; engine: ContainerEngine }>;
  readFile(path: string): string | undefined;
  exists(path: string): boolean;
  freeBytes(path: string): Promise<number | undefined>;
  nodeVersion: string;
  arch: string;
  tmpdir: string;
}

export const MIN_FREE_BYTES = 6 * 1024 ** 3;
const SETUP = "sudo npm run setup-machine";

export function systemProbe(engines: DoctorProbe["engines"]): DoctorProbe {
  return {
    engines,
    readFile: (p) => {
      try {
        return readFileSync(p, "utf8");
      } catch {
        return undefined;
      }
    },
    exists: existsSync,
    freeBytes: async (p) => {
      try {
        const s = await statfs(p);
        return s.bavail * s.bsize;
      } catch {
        return undefined;
      }
    },
    nodeVersion: process.versions.node,
    arch: process.arch,
    tmpdir: os.tmpdir(),
  };
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/** Runs every check; never throws: a failure is a check that is not ok. */
export async function runDoctor(probe: DoctorProbe): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const [major = 0, minor = 0] = probe.nodeVersion.split(".").map(Number);
  checks.push({
    name: "node",
    ok: major > 20 || (major === 20 && minor >= 18),
    detail: `Node ${probe.nodeVersion}`,
    fix: "Install Node 20.18 or newer.",
  });

  for (const { platforms, engine } of probe.engines) {
    try {
      const v = await engine.version();
      checks.push({ name: `docker engine (${engine.endpoint})`, ok: true, detail: `Docker ${v.version}, API ${v.apiVersion}, ${v.os}/${v.arch}, for ${platforms.join(", ")}` });
    } catch (error) {
      checks.push({
        name: `docker engine (${engine.endpoint})`,
        ok: false,
        detail: isDistcheckError(error) ? error.message : String(error),
        fix: engine.endpoint.startsWith("unix://") ? `${SETUP}   (or, with docker.io installed: sudo dockerd >/var/log/dockerd.log 2>&1 &)` : `Start the engine at ${engine.endpoint} or fix matrix.platforms[].engine / DOCKER_HOST.`,
      });
    }
  }

  const native = nativePlatform(probe.arch);
  const emulated = [...new Set(probe.engines.filter((e) => e.engine.endpoint.startsWith("unix://")).flatMap((e) => e.platforms))].filter((p) => p !== native);
  for (const platform of emulated) {
    const entry = platformInfo(platform).binfmt;
    const file = `/proc/sys/fs/binfmt_misc/${entry}`;
    const text = probe.readFile(file);
    const mounted = probe.exists("/proc/sys/fs/binfmt_misc/register");
    let ok = false;
    let detail: string;
    if (!mounted) detail = "binfmt_misc is not mounted";
    else if (text === undefined) detail = `${entry} is not registered`;
    else if (!/^enabled/m.test(text)) detail = `${entry} is registered but disabled`;
    else if (!/^flags:.*F/m.test(text)) detail = `${entry} lacks the F flag: the interpreter must be loaded at registration to work in containers`;
    else {
      ok = true;
      detail = `${entry} enabled (${/^interpreter (.*)$/m.exec(text)?.[1] ?? "?"})`;
    }
    checks.push({
      name: `qemu binfmt for ${platform}`,
      ok,
      detail,
      fix: `${SETUP}   (or: apt-get install qemu-user-static binfmt-support && mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; update-binfmts --enable ${entry})`,
    });
  }

  const debootstrap = probe.exists("/usr/sbin/debootstrap");
  checks.push({ name: "debootstrap", ok: debootstrap, detail: debootstrap ? "/usr/sbin/debootstrap" : "not installed; base images cannot be built", fix: `${SETUP}   (or: apt-get install debootstrap)` });

  for (const [what, where] of [["temp space", probe.tmpdir], ["docker storage", "/var/lib/docker"]] as const) {
    if (what === "docker storage" && !probe.exists(where)) continue;
    const free = await probe.freeBytes(where);
    checks.push({
      name: `disk (${what}, ${where})`,
      ok: free !== undefined && free >= MIN_FREE_BYTES,
      detail: free === undefined ? "could not measure" : `${gib(free)} free, ${gib(MIN_FREE_BYTES)} needed`,
      fix: `Free space on ${where}, or remove old images with \`npx distcheck images prune\`.`,
    });
  }
  return checks;
}
