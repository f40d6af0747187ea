import { readFileSync } from "node:fs";
import type { FileToPut } from "../../src/containers/cell-container.ts";
import { CERTIFY_PATHS, type CertifyJob } from "../../src/certify/dynamic-plan.ts";

const cache = new Map<string, Buffer>();
/** File bytes, read once per process (copied into containers, never extracted here). */
const bytesOf = (file: string): Buffer => {
  let b = cache.get(file);
  if (!b) cache.set(file, (b = readFileSync(file)));
  return b;
};

/** Every file of a job where the cell container expects it (CERTIFY_PATHS); the deps folder always exists. */
export function certifyFiles(job: CertifyJob): FileToPut[] {
  return [
    ...job.artifacts.map((a) => ({ target: `${CERTIFY_PATHS.artifacts}/${a.file}`, content: bytesOf(a.path) })),
    ...(job.previous ? [{ target: `${CERTIFY_PATHS.previous}/${job.previous.file}`, content: bytesOf(job.previous.path) }] : []),
    ...job.deps.map((d) => ({ target: `${CERTIFY_PATHS.deps}/${d.file}`, content: bytesOf(d.path) })),
    { target: `${CERTIFY_PATHS.deps}/.keep`, content: Buffer.alloc(0) },
  ];
}
