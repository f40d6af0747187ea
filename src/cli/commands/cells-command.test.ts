import { afterEach, describe, expect, it, vi } from "vitest";
import { CONTRACT } from "../../contract/contract.ts";
import { NOT_YET_COVERED } from "../../contract/not-yet-covered.ts";
import { main } from "../main.ts";

async function cells(args: string[]): Promise<string> {
  let out = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  expect(await main(["cells", ...args])).toBe(0);
  return out;
}

describe("distcheck cells", () => {
  afterEach(() => vi.restoreAllMocks());

  it("prints the clauses of the contract that no suite covers yet, with the contract version", async () => {
    // "none" once every clause has a suite.
    expect(await cells([])).toContain(`contract ${CONTRACT.version}: not yet covered by any suite: ${NOT_YET_COVERED.join(", ") || "none"}\n`);
  });

  it("carries them in --json beside the cells", async () => {
    const json = JSON.parse(await cells(["--json"])) as { cells: unknown[]; contract: unknown };
    expect(json.cells.length).toBeGreaterThan(0);
    expect(json.contract).toEqual({ version: CONTRACT.version, sha256: CONTRACT.sha256, notYetCovered: [...NOT_YET_COVERED] });
  });
});
