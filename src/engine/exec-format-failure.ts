import { InfrastructureError } from "../errors/distcheck-error.ts";
import { PLATFORM_IDS, platformInfo, type PlatformInfo } from "../platform/platforms.ts";
import { binfmtFile, binfmtFix, binfmtState, type BinfmtProbe } from "./binfmt-registration.ts";

/**
 * What the engine answers when the kernel cannot execute an exec's binary because it is for another
 * architecture and no binfmt handler (qemu-user) takes it. The daemon does not fail the request: the
 * runtime's error is the exec's output, either "OCI runtime exec failed: ... exec format error" or,
 * from runc's init in the exec's own process (seen with Docker 20.10+ on Debian 12), a first line
 * "exec /bin/sh: exec format error" and exit status 1. Only the runtime's own words count: a shell
 * inside the container that meets a foreign binary says "sh: 1: ./ext: Exec format error", Python
 * "[Errno 8] Exec format error", and that is the command's result, not the machine's.
 */
const RUNTIME_EXEC_FORMAT_ERROR = /OCI runtime exec failed:[^\n]*exec format error[^\r\n]*|^exec \/[^\s:]*: exec format error$/im;

/** The kernel's ENOEXEC in the words of the runtime (runc: "exec format error") or of docker-init (tini: "Exec format error"). */
const EXEC_FORMAT = /exec format error/i;

/** Where a failure on a cell's platform happened, for the message. */
export interface PlatformFailureSite {
  /** The cell (`Cell linux-aarch64.bookworm.reference`), or the container or image when no cell is known. */
  where: string;
  /** What failed, as a phrase: "starting the container of IMAGE", "`python3 -V`". */
  what: string;
  platform: PlatformInfo;
  /** The endpoint of the engine it ran on (DOCKER_HOST form): only a local engine's binfmt can be read from here. */
  endpoint: string;
}

/**
 * The one place that decides whether a failure on a platform is the machine's because its binaries
 * have no handler: called by everything that starts a process of a cell (container start, exec, the
 * host process, wheel-layer pip, the timing probe) when that failed. For a local engine it reads the
 * platform's binfmt_misc entry now: disabled or missing makes any failure `binfmt_disabled`
 * (infrastructure, with the fix), whatever the failure looked like, because nothing foreign runs
 * without it and the host under test cannot be judged. A remote engine's entry cannot be read;
 * then only `evidence` (the engine's error text, a container's pid-1 log, a dead host's output)
 * saying "exec format error" makes it `exec_format_error`. Undefined when the machine is not at
 * fault (native platform, or an entry this machine shows enabled): the caller's own error stands,
 * so x86_64 cells on an x86_64 machine are never touched.
 */
export function platformFailure(site: PlatformFailureSite, evidence = "", probe?: BinfmtProbe): InfrastructureError | undefined {
  const state = binfmtState(site.platform, site.endpoint, probe);
  const entry = site.platform.binfmt;
  if (state === "disabled" || state === "unregistered") {
    return new InfrastructureError(
      "binfmt_disabled",
      `${site.where}: ${site.what} failed while the ${entry} binfmt registration is ${state === "disabled" ? `disabled (${binfmtFile(site.platform)}: "disabled")` : `missing (no ${binfmtFile(site.platform)})`}, ` +
        `so this machine cannot run ${site.platform.docker} binaries: the machine is at fault, not the host under test. ` +
        `Fix: \`${binfmtFix(site.platform, state)}\` (as root; \`npx distcheck doctor\` checks it), then run again.`,
    );
  }
  // A registration this machine shows enabled (or no need of one) clears the machine; on a remote
  // engine only its runtime's words can blame it.
  if (state !== "unknown") return undefined;
  const said = evidence.split("\n").find((l) => EXEC_FORMAT.test(l))?.trim();
  if (!said) return undefined;
  return new InfrastructureError(
    "exec_format_error",
    `${site.where}: ${site.what} failed for ${site.platform.docker} on the engine at ${site.endpoint} (${said.slice(0, 300)}): ` +
      `the engine's machine has no working binfmt handler for ${site.platform.docker} binaries: the machine is at fault, not the host under test. ` +
      `Fix on that machine: \`update-binfmts --enable ${entry}\` (as root), or point the platform at a native engine (matrix.platforms[].engine).`,
  );
}

/** Where an exec ran, for the message. */
export interface ExecSite {
  /** The cell id, or the container id when no cell is known. */
  where: string;
  command: readonly string[];
  /** The platform the container was started for, as Docker names it (`linux/arm64`) or as distcheck does. */
  platform?: string | PlatformInfo;
  /** The engine's endpoint; without one the machine's binfmt is not consulted. */
  endpoint?: string;
}

function platformOf(platform: string | PlatformInfo | undefined): PlatformInfo | undefined {
  if (platform === undefined || typeof platform !== "string") return platform;
  return PLATFORM_IDS.map(platformInfo).find((p) => p.docker === platform || p.id === platform);
}

/**
 * An InfrastructureError when `output` holds the runtime's exec-format failure (`binfmt_disabled`
 * when the platform's registration is off, else `exec_format_error`), else undefined. The code that
 * runs execs calls this, so the machine's fault is named where it is seen.
 */
export function execFormatFailure(output: string, site: ExecSite, probe?: BinfmtProbe): InfrastructureError | undefined {
  const match = RUNTIME_EXEC_FORMAT_ERROR.exec(output);
  if (!match) return undefined;
  const what = `the engine could not execute \`${site.command.join(" ")}\``;
  const platform = platformOf(site.platform);
  if (platform) {
    const known = platformFailure({ where: site.where, what: `\`${site.command.join(" ")}\``, platform, endpoint: site.endpoint ?? "unknown://" }, match[0], probe);
    if (known) return known;
  }
  return new InfrastructureError(
    "exec_format_error",
    `${site.where}: ${what} (${match[0].trim()}): the container's binaries are for another architecture and no binfmt handler runs them: the machine is at fault, not the host under test. ` +
      "Fix: `update-binfmts --enable qemu-aarch64` (as root, for linux/arm64 containers; `npx distcheck doctor` prints the fix for each platform), or point the platform at a native engine (matrix.platforms[].engine).",
  );
}
