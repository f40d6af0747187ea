import { existsSync, readFileSync } from "node:fs";
import { nativePlatform, type PlatformInfo } from "../platform/platforms.ts";

/**
 * What the harness machine's binfmt_misc says about the entry that runs a platform's binaries:
 * - `native`: the engine's machine runs them itself (this machine's own architecture), no entry needed;
 * - `enabled` / `disabled` / `unregistered`: the entry's first line, or no entry at all;
 * - `unknown`: the engine is remote (its machine's binfmt_misc cannot be read from here) or
 *   binfmt_misc is not readable; only the engine's messages can tell then.
 */
export type BinfmtState = "native" | "enabled" | "disabled" | "unregistered" | "unknown";

/** How the state is read; tests inject one. */
export interface BinfmtProbe {
  /** `process.arch` of the harness. */
  arch: string;
  /** A file's text, undefined when it does not exist; throws when it cannot be read. */
  readFile(path: string): string | undefined;
  /** Whether a path exists (binfmt_misc's `register` exists but cannot be read). */
  exists(path: string): boolean;
}

const MACHINE: BinfmtProbe = {
  arch: process.arch,
  readFile(path) {
    try {
      return readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  },
  exists: (path) => existsSync(path),
};

/** The binfmt_misc file of a platform's entry, e.g. /proc/sys/fs/binfmt_misc/qemu-aarch64. */
export function binfmtFile(platform: PlatformInfo): string {
  return `/proc/sys/fs/binfmt_misc/${platform.binfmt}`;
}

/**
 * The state of `platform`'s binfmt entry for an engine at `endpoint`, read now. Only a local engine
 * (the unix socket) shares this machine's kernel, so only then is the file the engine's truth.
 */
export function binfmtState(platform: PlatformInfo, endpoint: string, probe: BinfmtProbe = MACHINE): BinfmtState {
  if (!endpoint.startsWith("unix://")) return "unknown";
  if (nativePlatform(probe.arch) === platform.id) return "native";
  let text: string | undefined;
  try {
    if (!probe.exists("/proc/sys/fs/binfmt_misc/register")) return "unknown";
    text = probe.readFile(binfmtFile(platform));
  } catch {
    return "unknown";
  }
  if (text === undefined) return "unregistered";
  const first = text.split("\n")[0]?.trim();
  return first === "enabled" ? "enabled" : first === "disabled" ? "disabled" : "unknown";
}

/** The command that gives the platform's binaries their handler back (the fix a message prints). */
export function binfmtFix(platform: PlatformInfo, state: BinfmtState): string {
  const enable = `update-binfmts --enable ${platform.binfmt}`;
  return state === "unregistered" ? `apt-get install qemu-user-static binfmt-support && ${enable}` : enable;
}
