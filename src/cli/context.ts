/** Collects a repeatable or comma-separated option into a list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(",").map((v) => v.trim()).filter(Boolean)];
}

const started = performance.now();
/** A progress line on stderr, stamped with seconds since the command started. */
export function progress(line: string): void {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);
}

/** What a command prints as its result, on stdout. */
export function out(text: string): void {
  process.stdout.write(text);
}
