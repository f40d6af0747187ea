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

/**
 * SIGINT and SIGTERM stop a long command cleanly through `stop`; a second signal ends the process at
 * once (exit 130). The listeners stay registered until the returned unsubscribe: a `once` listener
 * would be gone when the signal-exit handler execa installs runs, and that handler, seeing no other
 * listener, re-raises the signal and kills the process in the middle of its cleanup.
 */
export function onSignals(stop: (reason: string) => void): () => void {
  let seen = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    seen += 1;
    if (seen === 1) stop(sig);
    else {
      progress(`${sig} again: exiting now; what this run created is removed by its reaper or the next run's sweep`);
      process.exit(130);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}
