import { createHash } from "node:crypto";

/** SHA-256 of bytes, lowercase hex. */
export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * `SHA256SUMS` in the format `sha256sum` writes and `sha256sum -c` reads: `<hex>  <name>` per line,
 * sorted by name, so a user can check an extracted bundle with coreutils alone.
 */
export function formatSha256Sums(files: ReadonlyMap<string, Uint8Array>): string {
  return [...files.keys()]
    .sort()
    .map((name) => `${sha256Hex(files.get(name)!)}  ${name}\n`)
    .join("");
}

/** Parses `SHA256SUMS`; null when a line is not `<64 hex>  <name>` (binary-mode `*name` accepted) or a name repeats. */
export function parseSha256Sums(text: string): Map<string, string> | null {
  const sums = new Map<string, string>();
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  for (const line of lines) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!match || sums.has(match[2]!)) return null;
    sums.set(match[2]!, match[1]!);
  }
  return sums;
}
