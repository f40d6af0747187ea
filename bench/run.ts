// `npm run bench`: the benchmark's command line. Parses the options, reports progress on stderr,
// prints the table (or the JSON) on stdout; the logic is in bench-runner.ts.
import path from "node:path";
import { isDistcheckError } from "../src/errors/distcheck-error.ts";
import { EXIT, exitCodeOf } from "../src/run/exit-codes.ts";
import { BENCH_USAGE, parseBenchOptions } from "./bench-options.ts";
import { renderReport, runBench } from "./bench-runner.ts";

async function main(argv: string[]): Promise<number> {
  const started = performance.now();
  const progress = (line: string): void => {
    process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);
  };
  const abort = new AbortController();
  const stop = (signal: string): void => {
    progress(`${signal}: stopping the running part and removing its containers`);
    abort.abort();
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  try {
    const options = parseBenchOptions(argv);
    if (!options) {
      process.stdout.write(`${BENCH_USAGE}\n`);
      return EXIT.ok;
    }
    const result = await runBench(options, { progress, signal: abort.signal });
    process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : renderReport(result));
    progress(`result: ${path.relative(process.cwd(), path.resolve(options.reports, "bench", `${result.id}.json`))}`);
    return abort.signal.aborted ? EXIT.interrupted : EXIT.ok;
  } catch (error) {
    if (isDistcheckError(error)) {
      process.stderr.write(`bench: error [${error.code}]: ${error.message}\n`);
      return exitCodeOf(error.category);
    }
    process.stderr.write(`bench: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return abort.signal.aborted ? EXIT.interrupted : EXIT.failed;
  }
}

process.exitCode = await main(process.argv.slice(2));
// Connections a library keeps open (dockerode's event stream, testcontainers) must not hold the process.
setTimeout(() => process.exit(process.exitCode), 2_000).unref();
