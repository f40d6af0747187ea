import { createHash } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { DistcheckError } from "../errors/distcheck-error.ts";
import { suiteOf, testKey } from "../report/test-identity.ts";
import { CELL_NEVER_READY_CODE, type NeverReadyFailure } from "../report/test-record.ts";
import { scratchDir } from "./scratch.ts";

/** How much of the host's log the marker keeps (the report attaches it to the one failure). */
const LOG_TAIL = 64_000;

/**
 * Stops a boot of a cell whose host never became ready in an earlier boot of the same run: the cell
 * has one failure (HST-02, the first boot), and every other test that needs its host is reported as
 * not run with `failure.reason`, instead of waiting the ready bound again and failing too. Its
 * category is `product` (the host's fault) should it ever be read as a failure; distcheck's reporter
 * records the tests it stops as skipped.
 */
export class CellNeverReadyError extends DistcheckError {
  constructor(readonly neverReady: NeverReadyFailure) {
    super(CELL_NEVER_READY_CODE, neverReady.reason, { category: "product" });
    this.name = "CellNeverReadyError";
  }
}

/**
 * What the boots of one run know about its cells, across suite files and vitest workers (separate
 * processes): a marker file per cell whose host never became ready, in the run's scratch folder (it
 * goes with the run). The first boot to give up writes it; a boot that finds it does not start.
 */
export class CellHealth {
  constructor(readonly dir: string) {}

  /** The cell's marker, when a boot of its host in this run never became ready. */
  neverReady(cellId: string): NeverReadyFailure | undefined {
    try {
      return JSON.parse(readFileSync(this.file(cellId), "utf8")) as NeverReadyFailure;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  /**
   * Records that a boot of the cell never became ready, unless another boot did first (boots of one
   * cell run at once in a suite's setup): returns the marker that holds and whether it is this one.
   * Written whole and linked into place, so a reader never sees half of it and only one writer wins.
   */
  markNeverReady(failure: NeverReadyFailure): { failure: NeverReadyFailure; first: boolean } {
    mkdirSync(this.dir, { recursive: true });
    const final = this.file(failure.cellId);
    const temp = `${final}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    writeFileSync(temp, JSON.stringify(failure));
    try {
      linkSync(temp, final);
      return { failure, first: true };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      return { failure: this.neverReady(failure.cellId)!, first: false };
    } finally {
      rmSync(temp, { force: true });
    }
  }

  private file(cellId: string): string {
    return path.join(this.dir, `${cellId}.never-ready.json`);
  }
}

/**
 * The current vitest process's cell health, shared by its workers: in the run's scratch folder, one
 * folder per results directory, because one run may start several vitest processes that must not
 * see each other's markers (`distcheck mutants` runs every mutant's job under one run id, and a
 * mutant whose host never becomes ready must not stop the next mutant's boots).
 */
export function runCellHealth(env: NodeJS.ProcessEnv = process.env): CellHealth {
  const results = env.DISTCHECK_RESULTS_DIR ?? "";
  return new CellHealth(path.join(scratchDir(env), "cell-health", createHash("sha256").update(results).digest("hex").slice(0, 12)));
}

/**
 * The marker of a cell's first boot that never became ready: the one failure the cell reports, named
 * after HST-02 and the suite file that booted it, in a describe that names the cell (so the report
 * files it under that cell), and the reason every other test of the cell is not run.
 */
export function neverReadyFailure(options: { cellId: string; file: string; message: string; stack?: string; log: string; at?: Date }): NeverReadyFailure {
  const file = options.file.split(path.sep).join("/");
  const suitePath = [`${suiteOf(file)} on ${options.cellId}`];
  const name = "HST-02: the host became ready within its bound (the first boot of the cell)";
  return {
    cellId: options.cellId,
    key: testKey(file, suitePath, name),
    file,
    suitePath,
    name,
    message: options.message,
    stack: options.stack,
    log: options.log.slice(-LOG_TAIL),
    reason: `the host of ${options.cellId} never became ready (HST-02, see ${file} > ${suitePath.join(" > ")} > ${name})`,
    at: (options.at ?? new Date()).toISOString(),
  };
}
