import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, describe, expect, it, vi } from "vitest";
import { registerFixturesCommand } from "./fixtures-command.ts";

const temps: string[] = [];
afterAll(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

describe("distcheck fixtures build", () => {
  it("builds into --out, prints progress on stderr and skips an unchanged second run", { timeout: 60_000 }, async () => {
    const out = await mkdtemp(join(tmpdir(), "distcheck-cli-fixtures-"));
    temps.push(out);
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      const run = async () => {
        const program = new Command().exitOverride();
        registerFixturesCommand(program);
        await program.parseAsync(["fixtures", "build", "--out", out, "--no-large"], { from: "user" });
      };
      await run();
      await run();
      const index = JSON.parse(await readFile(join(out, "index.json"), "utf8"));
      expect(index.large).toBe(false);
      expect(stderr.mock.calls.map((c) => String(c[0])).join("")).toMatch(/fixtures: .* wheels for host reference/);
      const printed = stdout.mock.calls.map((c) => String(c[0])).join("");
      expect(printed).toMatch(/^built \d+ fixtures/m);
      expect(printed).toMatch(/^unchanged \d+ fixtures/m);
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
    }
  });
});
