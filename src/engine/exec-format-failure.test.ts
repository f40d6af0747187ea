import { describe, expect, it } from "vitest";
import { execFormatFailure } from "./exec-format-failure.ts";

// The engine writes the runtime's failure on the exec's output instead of failing the request;
// only that message, not what a command inside printed, is the machine's fault.
describe("execFormatFailure", () => {
  const site = { where: "Cell linux-aarch64.bookworm.reference", command: ["python3", "-V"], platform: "linux/arm64" };

  it("names the runtime's exec format error as infrastructure, with the fix", () => {
    const error = execFormatFailure('OCI runtime exec failed: exec failed: unable to start container process: exec: "python3": exec format error: unknown\r\n', site);
    expect(error).toMatchObject({ code: "exec_format_error", category: "infrastructure" });
    expect(error?.message).toMatch(/^Cell linux-aarch64\.bookworm\.reference: the engine could not execute `python3 -V` for linux\/arm64 \(OCI runtime exec failed: .*exec format error: unknown\): .*qemu binfmt.*npx distcheck doctor/);
  });

  it("leaves a command's own output alone, even when a shell in it met a foreign binary", () => {
    expect(execFormatFailure("/bin/sh: 1: ./ext: Exec format error\n", site)).toBeUndefined();
    expect(execFormatFailure("OCI runtime exec failed: exec failed: unable to start container process: exec: \"nope\": executable file not found in $PATH: unknown", site)).toBeUndefined();
    expect(execFormatFailure("", site)).toBeUndefined();
  });
});
