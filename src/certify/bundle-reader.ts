import { gunzipSync } from "node:zlib";
import { readTarHeaders } from "../fixtures/inspect/tar-header-reader.ts";
import { entryNameProblem } from "./archive-entry-rules.ts";
import { BundleVerificationError } from "./certify-errors.ts";

/** Largest uncompressed bundle read; a bundle is JSON, Markdown and logs, far below this. */
export const MAX_BUNDLE_BYTES = 256 * 2 ** 20;

const unreadable = (message: string, cause?: unknown): BundleVerificationError => new BundleVerificationError("bundle_unreadable", message, cause === undefined ? {} : { cause });

/**
 * A bundle's files, read into memory with the project's byte-level tar reader; nothing is extracted.
 * Anything a bundle writer never produces is refused rather than skipped: an entry that is not a
 * regular file, an unsafe or repeated name, a header with a wrong checksum, content past the end.
 */
export function readBundle(bytes: Buffer): Map<string, Buffer> {
  let tar: Buffer;
  try {
    tar = gunzipSync(bytes, { maxOutputLength: MAX_BUNDLE_BYTES });
  } catch (error) {
    throw unreadable(`the bundle is not a gzip stream of at most ${MAX_BUNDLE_BYTES} bytes: ${(error as Error).message}`, error);
  }
  let headers: ReturnType<typeof readTarHeaders>;
  try {
    headers = readTarHeaders(tar);
  } catch (error) {
    throw unreadable(`the bundle's tar headers cannot be read: ${(error as Error).message}`, error);
  }
  if (headers.length === 0) throw unreadable("the bundle holds no files");
  const files = new Map<string, Buffer>();
  for (const h of headers) {
    const name = h.name.toString("utf8");
    if (!h.checksumValid) throw unreadable(`the tar header of ${JSON.stringify(name)} has a wrong checksum`);
    if (h.typeflag !== "0" && h.typeflag !== "\0") throw unreadable(`bundle entry ${JSON.stringify(name)} is not a regular file (tar type ${JSON.stringify(h.typeflag)})`);
    const problem = entryNameProblem(name);
    if (problem) throw unreadable(`bundle entry ${JSON.stringify(name)} has an unsafe name: ${problem.detail}`);
    if (files.has(name)) throw unreadable(`the bundle holds ${JSON.stringify(name)} more than once`);
    const start = h.offset + 512;
    if (!Number.isSafeInteger(h.size) || start + h.size > tar.length) throw unreadable(`bundle entry ${JSON.stringify(name)} runs past the end of the archive`);
    files.set(name, Buffer.from(tar.subarray(start, start + h.size)));
  }
  return files;
}
