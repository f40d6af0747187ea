import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tempDirs } from "../../testing/temp-dirs.ts";
import { main } from "../main.ts";

/** Runs `distcheck repro ...` in this process; returns the exit code and what it printed on stdout. */
async function repro(args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  process.exitCode = undefined;
  const code = await main(["repro", ...args]);
  process.exitCode = undefined;
  return { code, out };
}

describe("distcheck repro's input errors", () => {
  afterEach(() => vi.restoreAllMocks());
  const reports = tempDirs("distcheck-repro-cli-")();

  it("prints the error's code and message as JSON with --json, and exits 2 for input", async () => {
    const { code, out } = await repro(["--from", path.join(reports, "nope"), "x", "--reports", reports, "--json"]);
    expect(code).toBe(2);
    expect(JSON.parse(out)).toMatchObject({ ok: false, code: "run_not_found", category: "input" });
  });

  it("asks for a test or --last-failed, and refuses --shell without a terminal (no_tty) before anything runs", async () => {
    expect(JSON.parse((await repro(["--reports", reports, "--json"])).out)).toMatchObject({ code: "repro_usage" });
    // As in CI (stdin not a terminal), also when these tests are started from one.
    const isTTY = Object.getOwnPropertyDescriptor(process.stdin, "isTTY");
    Object.defineProperty(process.stdin, "isTTY", { value: undefined, configurable: true });
    try {
      const noTty = await repro(["--from", reports, "x", "--shell", "--reports", reports, "--json"]);
      expect([noTty.code, JSON.parse(noTty.out).code]).toEqual([2, "no_tty"]);
    } finally {
      if (isTTY) Object.defineProperty(process.stdin, "isTTY", isTTY);
      else delete (process.stdin as { isTTY?: boolean }).isTTY;
    }
  });
});
