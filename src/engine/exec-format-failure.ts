import { InfrastructureError } from "../errors/distcheck-error.ts";

/**
 * What the engine answers when the kernel cannot execute an exec's binary because it is for another
 * architecture and no binfmt handler (qemu-user) takes it. The daemon does not fail the request: it
 * writes the runtime's error on the exec's output ("OCI runtime exec failed: ... exec format error").
 * Only the runtime's own message counts: a shell inside the container that meets a foreign binary
 * says "Exec format error" in its own words, and that is the command's result, not the machine's.
 */
const RUNTIME_EXEC_FORMAT_ERROR = /OCI runtime exec failed:[^\n]*exec format error[^\r\n]*/i;

/** Where an exec ran, for the message. */
export interface ExecSite {
  /** The cell id, or the container id when no cell is known. */
  where: string;
  command: readonly string[];
  /** The platform the container was started for, e.g. `linux/arm64`. */
  platform?: string;
}

/**
 * An `exec_format_error` InfrastructureError when `output` holds the runtime's exec-format failure,
 * else undefined. The code that runs execs calls this, so the machine's fault is named where it is seen.
 */
export function execFormatFailure(output: string, site: ExecSite): InfrastructureError | undefined {
  const match = RUNTIME_EXEC_FORMAT_ERROR.exec(output);
  if (!match) return undefined;
  return new InfrastructureError(
    "exec_format_error",
    `${site.where}: the engine could not execute \`${site.command.join(" ")}\`${site.platform ? ` for ${site.platform}` : ""} (${match[0].trim()}): ` +
      "the container's binaries are for another architecture and no binfmt handler runs them. " +
      "Enable qemu binfmt for that platform (`npx distcheck doctor` prints the fix), or point the platform at a native engine (matrix.platforms[].engine).",
  );
}
