/**
 * The fixture files whose bytes differ between the recorded run and a try (sha256 per file under
 * fixtures/dist, as each run's environment.json lists them): changed, added or gone. Undefined when
 * either side recorded none (an older run), so nothing could be compared.
 */
export function fixtureDifferences(recorded: Record<string, string> | undefined, now: Record<string, string> | undefined): string[] | undefined {
  if (!recorded || !now) return undefined;
  const files = [...new Set([...Object.keys(recorded), ...Object.keys(now)])].sort();
  return files.flatMap((f) => {
    if (!(f in now)) return [`${f}: gone (the run had sha256 ${recorded[f]})`];
    if (!(f in recorded)) return [`${f}: new since the run`];
    return recorded[f] === now[f] ? [] : [`${f}: sha256 ${now[f]}, the run had ${recorded[f]}`];
  });
}
