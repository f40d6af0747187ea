import { open } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import { TarHeaderParser, type TarHeader } from "../fixtures/inspect/tar-header-reader.ts";

/**
 * The content of the first regular file of a .tar.gz that `want` selects, read while streaming
 * through gunzip in memory: nothing is extracted, and the stream stops as soon as the file is
 * complete. Headers come from the project's byte-level parser, whose offsets locate the content.
 * Returns undefined when no entry matches; throws on a corrupt stream or a member over `maxBytes`.
 */
export async function readTarGzMember(path: string, want: (header: TarHeader) => boolean, maxBytes: number): Promise<{ header: TarHeader; content: Buffer } | undefined> {
  const handle = await open(path, "r");
  let target: { header: TarHeader; start: number; end: number; parts: Buffer[]; got: number } | undefined;
  let tooLarge: TarHeader | undefined;
  const parser = new TarHeaderParser((h) => {
    if (target !== undefined || !(h.typeflag === "0" || h.typeflag === "\0") || !want(h)) return false;
    if (h.size > maxBytes) {
      tooLarge = h;
      return true;
    }
    target = { header: h, start: h.offset + 512, end: h.offset + 512 + h.size, parts: [], got: 0 };
    return false;
  });
  let position = 0;
  const complete = (): boolean => target !== undefined && target.got >= target.end - target.start;
  try {
    await new Promise<void>((resolve, reject) => {
      const gunzip = createGunzip();
      const input = handle.createReadStream({ autoClose: false });
      const stop = (): void => {
        input.destroy();
        gunzip.destroy();
        resolve();
      };
      gunzip.on("data", (chunk: Buffer) => {
        const chunkStart = position;
        position += chunk.length;
        // The header is parsed inside push(); its content starts in this chunk or a later one.
        if (!parser.finished) parser.push(chunk);
        if (target !== undefined) {
          const from = Math.max(target.start, chunkStart);
          const to = Math.min(target.end, position);
          if (to > from) {
            target.parts.push(Buffer.from(chunk.subarray(from - chunkStart, to - chunkStart)));
            target.got += to - from;
          }
        }
        if (complete() || tooLarge !== undefined || (parser.finished && target === undefined)) stop();
      });
      gunzip.on("end", () => resolve());
      gunzip.on("error", (error) => (complete() ? resolve() : reject(error)));
      input.on("error", reject);
      input.pipe(gunzip);
    });
  } finally {
    await handle.close();
  }
  if (tooLarge !== undefined) throw new RangeError(`${tooLarge.name.toString("utf8")} is ${tooLarge.size} bytes, more than the ${maxBytes} read here`);
  if (target === undefined) return undefined;
  if (!complete()) throw new RangeError(`${target.header.name.toString("utf8")} is truncated: ${target.got} of ${target.end - target.start} bytes`);
  return { header: target.header, content: Buffer.concat(target.parts) };
}
