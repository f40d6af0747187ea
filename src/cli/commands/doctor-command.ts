import type { Command } from "commander";
import { runDoctor, systemProbe } from "../../doctor/doctor.ts";
import { enginesFor, select } from "../../matrix/selection.ts";
import { EXIT } from "../../run/exit-codes.ts";

export function registerDoctorCommand(program: Command): void {
  program
    .command("doctor")
    .description("check the machine: Docker engine, qemu binfmt for emulated platforms, debootstrap, disk; prints the fix for each failure")
    .option("--matrix <file>", "matrix file whose platforms and engines to check")
    .option("--json", "print JSON")
    .action(async (opts: { matrix?: string; json?: boolean }) => {
      const selection = select(opts);
      const checks = await runDoctor(systemProbe(enginesFor(selection.matrix)));
      if (opts.json) process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
      else {
        for (const c of checks) {
          process.stdout.write(`${c.ok ? "ok  " : "FAIL"}  ${c.name}: ${c.detail}\n`);
          if (!c.ok && c.fix) process.stdout.write(`      fix: ${c.fix}\n`);
        }
        const failed = checks.filter((c) => !c.ok).length;
        process.stdout.write(failed === 0 ? "All checks passed.\n" : `${failed} check(s) failed.\n`);
      }
      process.exitCode = checks.every((c) => c.ok) ? EXIT.ok : EXIT.infrastructure;
    });
}
