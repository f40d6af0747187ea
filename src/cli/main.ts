import { readFileSync } from "node:fs";
import path from "node:path";
import { Command, CommanderError } from "commander";
import { isDistcheckError } from "../errors/distcheck-error.ts";
import { PACKAGE_ROOT } from "../matrix/selection.ts";
import { EXIT, exitCodeOf } from "../run/exit-codes.ts";
import { registerCellsCommand } from "./commands/cells-command.ts";
import { registerDoctorCommand } from "./commands/doctor-command.ts";
import { registerImagesCommand } from "./commands/images-command.ts";
import { registerRunCommand } from "./commands/run-command.ts";
import { registerFixturesCommand } from "./commands/fixtures-command.ts";
import { registerReportCommand } from "./commands/report-command.ts";
import { registerMutantsCommand } from "./commands/mutants-command.ts";
import { registerVerifyCommand } from "./commands/verify-command.ts";
import { registerCertifyCommand } from "./commands/certify-command.ts";
import { registerReproCommand } from "./commands/repro-command.ts";

function version(): string {
  return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;
}

export function buildProgram(): Command {
  const program = new Command("distcheck")
    .description("Distribution conformance harness for extension hosts: installs third-party wheels and archives in clean linux-x86_64 and linux-aarch64 containers and checks the contract clause by clause.")
    .version(version())
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerDoctorCommand(program);
  registerImagesCommand(program);
  registerCellsCommand(program);
  registerRunCommand(program);
  registerFixturesCommand(program);
  registerReportCommand(program);
  registerMutantsCommand(program);
  registerCertifyCommand(program);
  registerVerifyCommand(program);
  registerReproCommand(program);
  return program;
}

/** Runs the CLI; returns the exit code. Only here are errors turned into text. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT.input;
    if (isDistcheckError(error)) {
      process.stderr.write(`distcheck: error [${error.code}]: ${error.message}\n`);
      return exitCodeOf(error.category);
    }
    process.stderr.write(`distcheck: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.failed;
  }
}
