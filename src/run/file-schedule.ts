import path from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * The order suite files start in when two run at once (issue #17). The timing suite goes first: it
 * spends most of its minute waiting out grace periods under qemu (the critical path), and the
 * CPU-heavy hostile archives fill the other core meanwhile. Then the rest, longest first, so the
 * short ones fill both cores to the end. Measured on a 2-core machine, seconds per file (aarch64
 * dominated): shutdown-timing 65 (mostly idle), hostile-archives 90, bundles 40, config-defaults 25,
 * checksum 25, discovery 22, platform 20, compatibility 17, manifest-validation 8,
 * plugin-directories 7, host-defaults 6, host-boot 5, kernel 3.
 */
export const FILE_ORDER = [
  "shutdown-timing",
  "hostile-archives",
  "bundles",
  "config-defaults",
  "checksum",
  "discovery",
  "platform",
  "compatibility",
  "manifest-validation",
  "plugin-directories",
  "host-defaults",
  "host-boot",
  "kernel",
] as const;

/** The position of a suite file in FILE_ORDER; a file not listed goes after every listed one. */
export function schedulePosition(file: string): number {
  const i = (FILE_ORDER as readonly string[]).indexOf(path.basename(file).replace(/\.test\.ts$/, ""));
  return i === -1 ? FILE_ORDER.length : i;
}

/** vitest's sequencer with FILE_ORDER first; files not listed keep vitest's own order after them. */
export default class FileSchedule extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    return base.map((f, i) => ({ f, i })).sort((a, b) => schedulePosition(a.f.moduleId) - schedulePosition(b.f.moduleId) || a.i - b.i).map((x) => x.f);
  }
}
