import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { enginesFor, select, type Selection } from "../matrix/selection.ts";
import type { CellIdentity } from "../report/test-identity.ts";
import { ImageService } from "../images/image-service.ts";
import { readRecords } from "../report/records-reader.ts";
import { readRunEnvironment } from "../report/run-environment.ts";
import { categorise } from "../report/failure-category.ts";
import { TRACE_DIR_VARIABLE } from "../hosts/host-trace.ts";
import { cellVerdict, openBundleCell, type CellVerdict } from "./bundle-cell.ts";
import { ReproEnvironmentError, ReproInputError } from "./repro-errors.ts";
import { planCellTry, runVitest, tryCommandLine } from "./replay-try.ts";

export interface BundleReplayOptions {
  bundle: string;
  /** The signer's public key (PEM): the bundle is verified before anything runs. */
  key: string;
  cell: string;
  reports?: string;
  matrix?: string;
  allowDifferentImage?: boolean;
  progress: (line: string) => void;
  echo?: (text: string) => void;
}

export interface BundleReplayResult {
  reproId: string;
  dir: string;
  bundle: string;
  cell: string;
  recordedVerdict: CellVerdict;
  replayedVerdict: CellVerdict;
  sameVerdict: boolean;
  tests: Array<{ key: string; name: string; recorded: string; replayed: string }>;
  warnings: string[];
  timingFactor?: number;
  command: string;
  /** 0 when the replay gives the bundle's verdict for the cell, 1 when it does not. */
  exitCode: 0 | 1;
}

/**
 * Finds the bundle's cell in the matrix and checks that its host image in the engine is the one the
 * bundle names (meta/run.json): a missing one is `image_missing`, another `image_differs` unless
 * `allowDifferentImage` (then a warning), both with the command that rebuilds it.
 */
export async function checkBundleImage(opts: { cell: CellIdentity; imageId?: string; matrix?: string; allowDifferentImage?: boolean }): Promise<{ selection: Selection; warnings: string[] }> {
  const { cell: id } = opts;
  const selection = select({ matrix: opts.matrix, platform: [id.platform], python: [id.base], host: [id.host] });
  const cell = selection.cells.find((c) => c.id === id.id);
  if (!cell) throw new ReproInputError("cell_not_found", `The bundle's cell ${id.id} is not in the matrix ${selection.matrixFile}; pass --matrix with the matrix it ran on.`);
  const engine = enginesFor(selection.matrix).find((e) => e.platforms.includes(cell.platform.id))!.engine;
  await engine.version();
  const service = new ImageService(engine, selection.root);
  const hostTag = service.hostTarget(cell.host, service.hostBaseTarget(cell.host, cell.base.image, cell.platform.id)).tag;
  const rebuild = `npx distcheck images build --platform ${id.platform} --python ${id.base} --host ${id.host}`;
  const image = await engine.inspectImage(hostTag);
  if (!image) throw new ReproEnvironmentError("image_missing", `The host image ${hostTag} of ${id.id} does not exist in ${engine.endpoint}. Build it with \`${rebuild}\`.`);
  const warnings: string[] = [];
  if (!opts.imageId) warnings.push("the bundle names no image id for this cell; the replay cannot prove it runs on the same image");
  else if (image.id !== opts.imageId) {
    const text = `the host image of ${id.id} is ${image.id} (${hostTag}), the bundle's run used ${opts.imageId}`;
    if (!opts.allowDifferentImage) throw new ReproEnvironmentError("image_differs", `The replay would not run on the image the bundle's run used: ${text}. Rebuild with \`${rebuild}\` from the same sources, or pass --allow-different-image.`);
    warnings.push(`--allow-different-image: ${text}`);
  }
  return { selection, warnings };
}

/**
 * Replays one cell of a sign-off bundle (`distcheck run --bundle`): verifies it, checks that the
 * cell's host image is the one the bundle names (meta/run.json), runs the cell's test files on that
 * cell once (no retries) and compares each test's state and the cell's verdict with the bundle's.
 */
export async function replayBundleCell(opts: BundleReplayOptions): Promise<BundleReplayResult> {
  const bc = openBundleCell(opts.bundle, opts.key, opts.cell);
  const { selection, warnings } = await checkBundleImage({ cell: bc.cell, imageId: bc.imageId, matrix: opts.matrix, allowDifferentImage: opts.allowDifferentImage });
  for (const w of warnings) opts.progress(`warning: ${w}`);

  const reportsRoot = path.resolve(selection.root, opts.reports ?? "reports");
  const reproId = `${new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-${randomBytes(3).toString("hex")}`;
  const dir = path.join(reportsRoot, "repro", reproId);
  const tryDir = path.join(dir, `bundle-${bc.cell.id}`, "try-1");
  mkdirSync(tryDir, { recursive: true });
  const files = [...new Set(bc.tests.map((t) => t.file))].sort();
  const plan = planCellTry(bc.cell, files, selection, { project: "conformance", runId: `repro-${reproId}-1`, resultsDir: path.join(tryDir, "results") });
  const command = ["npx", "distcheck", "repro", "--bundle", opts.bundle, "--key", opts.key, "--cell", bc.cell.id].join(" ");
  writeFileSync(path.join(tryDir, "command.sh"), `#!/bin/sh\n# Replays this bundle cell: ${command}\ncd ${selection.root} && ${tryCommandLine(plan)}\n`);
  opts.progress(`replaying cell ${bc.cell.id} of ${opts.bundle}: ${bc.tests.length} test(s) in ${files.length} file(s), recorded verdict ${bc.verdict}`);
  const run = await runVitest(plan, { root: selection.root, dir: tryDir, echo: opts.echo, extraEnv: { [TRACE_DIR_VARIABLE]: tryDir } });
  const records = readRecords([plan.protocol.resultsDir!]);
  if (records.size === 0) throw new ReproEnvironmentError("test_not_run", `The replay of ${bc.cell.id} ran no test (vitest exited ${run.exitCode}); its output is in ${run.logFile}.`);
  const tests = bc.tests.map((t) => {
    const r = records.get(t.key);
    return { key: t.key, name: t.name, recorded: t.state, replayed: r?.state ?? "not run", harness: r?.state === "failed" && categorise(r) !== "product" };
  });
  const replayedVerdict = cellVerdict(tests.map((t) => ({ state: t.replayed === "not run" ? "failed" : t.replayed, harness: t.harness || t.replayed === "not run" })));
  const result: BundleReplayResult = {
    reproId,
    dir,
    bundle: opts.bundle,
    cell: bc.cell.id,
    recordedVerdict: bc.verdict,
    replayedVerdict,
    sameVerdict: replayedVerdict === bc.verdict,
    tests: tests.map(({ harness: _h, ...t }) => t),
    warnings,
    timingFactor: readRunEnvironment([plan.protocol.resultsDir!])?.timingFactors[bc.cell.platform],
    command,
    exitCode: replayedVerdict === bc.verdict ? 0 : 1,
  };
  writeFileSync(path.join(dir, "repro.json"), JSON.stringify(result, null, 2));
  return result;
}

/** The result as a person reads it. */
export function bundleReplayText(r: BundleReplayResult): string {
  const lines = [`cell ${r.cell} of ${r.bundle}`];
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  for (const t of r.tests.filter((t) => t.recorded !== t.replayed)) lines.push(`  ${t.name}: ${t.recorded} in the bundle, ${t.replayed} now`);
  lines.push(`  ${r.tests.filter((t) => t.recorded === t.replayed).length} of ${r.tests.length} test(s) as recorded; timing factor ${r.timingFactor ?? "?"}`);
  lines.push(`  verdict: ${r.replayedVerdict} (the bundle: ${r.recordedVerdict}) ${r.sameVerdict ? "the same verdict" : "a DIFFERENT verdict"}`);
  lines.push(`trace: ${path.relative(process.cwd(), r.dir) || r.dir}`);
  return `${lines.join("\n")}\n`;
}
