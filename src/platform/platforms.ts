/** The platforms distcheck can run cells on, and how each is named by Docker, Debian and uname. */
export const PLATFORM_IDS = ["linux-x86_64", "linux-aarch64"] as const;
export type PlatformId = (typeof PLATFORM_IDS)[number];

export interface PlatformInfo {
  id: PlatformId;
  /** Docker's platform string, as in `--platform`. */
  docker: string;
  /** Docker's `architecture` field of an image config. */
  dockerArch: "amd64" | "arm64";
  /** Debian's architecture name, as debootstrap wants it. */
  debianArch: "amd64" | "arm64";
  /** What `uname -m` prints inside a container of this platform. */
  uname: "x86_64" | "aarch64";
  /** The binfmt_misc entry that runs this platform's binaries on another one. */
  binfmt: string;
  /**
   * The CPU model qemu emulates for this platform (QEMU_CPU in every container and exec of it; a
   * native engine ignores it). qemu's default `max` CPU emulates pointer authentication in
   * software, which makes binaries built with branch protection (Debian trixie's Python) 3-5x
   * slower; a Neoverse-N1 (Graviton2-class, ARMv8.2, no PAC) runs them as NOPs.
   */
  qemuCpu?: string;
}

const PLATFORMS: Record<PlatformId, PlatformInfo> = {
  "linux-x86_64": { id: "linux-x86_64", docker: "linux/amd64", dockerArch: "amd64", debianArch: "amd64", uname: "x86_64", binfmt: "qemu-x86_64" },
  "linux-aarch64": { id: "linux-aarch64", docker: "linux/arm64", dockerArch: "arm64", debianArch: "arm64", uname: "aarch64", binfmt: "qemu-aarch64", qemuCpu: "neoverse-n1" },
};

/**
 * The environment every container and exec of the platform runs with: quiet, non-interactive pip
 * as root, and QEMU_CPU where the platform names a CPU model (see qemuCpu).
 */
export function containerEnv(platform: PlatformInfo): Record<string, string> {
  return { PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_NO_INPUT: "1", PIP_ROOT_USER_ACTION: "ignore", ...qemuEnv(platform) };
}

/** QEMU_CPU for a platform that names a CPU model (see qemuCpu), else nothing. */
export function qemuEnv(platform: PlatformInfo): Record<string, string> {
  return platform.qemuCpu ? { QEMU_CPU: platform.qemuCpu } : {};
}

/** containerEnv as Docker's `KEY=value` list. */
export function containerEnvList(platform: PlatformInfo): string[] {
  return Object.entries(containerEnv(platform)).map(([k, v]) => `${k}=${v}`);
}

export function isPlatformId(value: string): value is PlatformId {
  return (PLATFORM_IDS as readonly string[]).includes(value);
}

export function platformInfo(id: PlatformId): PlatformInfo {
  return PLATFORMS[id];
}

/** The platform of the machine this process runs on, or undefined when distcheck has no name for it. */
export function nativePlatform(arch: string = process.arch): PlatformId | undefined {
  if (arch === "x64") return "linux-x86_64";
  if (arch === "arm64") return "linux-aarch64";
  return undefined;
}
