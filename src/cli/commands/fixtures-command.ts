import type { Command } from "commander";
import { buildFixtures } from "../../fixtures/index.ts";

/** `distcheck fixtures build [--out DIR] [--force] [--host ID...] [--no-large]`: progress on stderr, a summary on stdout. */
export function registerFixturesCommand(program: Command): Command {
  const fixtures = program.command("fixtures").description("sample extensions and the hostile archive corpus");
  fixtures
    .command("build")
    .description("build fixtures/dist/ (wheels, archives, hostile corpus) and its index.json; skips work when nothing changed")
    .option("--out <dir>", "output folder (default: fixtures/dist)")
    .option("--force", "rebuild even when declarations and generator are unchanged", false)
    .option("--host <id...>", "host templates to render sample wheels for (default: reference)")
    .option("--entry-point-group <group>", "entry point group written into every wheel (default: the host's own)")
    .option("--no-large", "skip the large hostile archives (2 GiB bomb, 10,001 files)")
    .action(async (opts: { out?: string; force: boolean; host?: string[]; entryPointGroup?: string; large: boolean }) => {
      const report = await buildFixtures({
        ...(opts.out === undefined ? {} : { outDir: opts.out }),
        ...(opts.host === undefined ? {} : { hosts: opts.host }),
        ...(opts.entryPointGroup === undefined ? {} : { entryPointGroup: opts.entryPointGroup }),
        force: opts.force,
        large: opts.large,
        onProgress: (line) => process.stderr.write(`${line}\n`),
      });
      const verb = report.skipped ? "unchanged" : "built";
      process.stdout.write(`${verb} ${report.index.entries.length} fixtures in ${report.outDir} (index ${report.indexPath}, key ${report.key.slice(0, 12)}, ${Math.round(report.durationMs)} ms)\n`);
    });
  return fixtures;
}
