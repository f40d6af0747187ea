import type { Command } from "commander";
import { contractStamp } from "../../contract/contract.ts";
import { select, type MatrixOptions } from "../../matrix/selection.ts";
import { collect } from "../context.ts";

export function registerCellsCommand(program: Command): void {
  program
    .command("cells")
    .description("list the cells (platform x base x host) and suites that a run with these filters covers")
    .option("--matrix <file>", "matrix file")
    .option("--platform <id>", "only these platforms", collect)
    .option("--python <version>", "only these bases, by Python version or base id", collect)
    .option("--host <id>", "only these hosts", collect)
    .option("--suite <name>", "only these suites", collect)
    .option("--json", "print JSON")
    .action((opts: MatrixOptions & { json?: boolean }) => {
      const { cells, matrix } = select(opts);
      // What no run covers, whatever the filters: clauses of the contract that no suite checks yet.
      const contract = contractStamp();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ cells: cells.map((c) => ({ id: c.id, platform: c.platform.id, base: c.base.id, python: c.base.python, host: c.host.id })), suites: matrix.suites, contract }, null, 2)}\n`);
        return;
      }
      for (const c of cells) process.stdout.write(`${c.id}  (python ${c.base.python})\n`);
      process.stdout.write(`suites: ${matrix.suites.join(", ")}\n`);
      process.stdout.write(`contract ${contract.version}: not yet covered by any suite: ${contract.notYetCovered.join(", ") || "none"}\n`);
    });
}
