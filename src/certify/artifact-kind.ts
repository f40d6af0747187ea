import { open } from "node:fs/promises";
import { basename } from "node:path";
import { ArtifactError } from "./certify-errors.ts";

/** What a file given to `certify` is, decided by its name and confirmed by its first bytes. */
export interface ArtifactKind {
  kind: "wheel" | "archive";
  /** `whl` for a wheel; the ARC-01 format of an archive. */
  format: "whl" | "tar.gz" | "zip";
  path: string;
  fileName: string;
  size: number;
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
// An empty zip is only an end record; it is still a zip (and then an invalid wheel or archive).
const ZIP_EMPTY_MAGIC = [0x50, 0x4b, 0x05, 0x06];
const GZIP_MAGIC = [0x1f, 0x8b];

const startsWith = (head: Buffer, magic: number[]): boolean => magic.every((b, i) => head[i] === b);

/**
 * A wheel is `.whl` with zip bytes; an archive is `.tar.gz`/`.tgz` with gzip bytes or `.zip` with zip
 * bytes (ARC-01, case-insensitive like the hosts). Anything else is `artifact_unrecognised`: the
 * name and the bytes must agree, so a renamed file is never judged as what it pretends to be.
 */
export async function classifyArtifact(path: string): Promise<ArtifactKind> {
  const fileName = basename(path);
  let head: Buffer;
  let size: number;
  try {
    const handle = await open(path, "r");
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new ArtifactError("artifact_unrecognised", `${path} is not a regular file (a directory or a device). Give the path of a wheel (.whl) or an archive (.tar.gz, .tgz, .zip).`);
      size = stat.size;
      head = Buffer.alloc(4);
      const { bytesRead } = await handle.read(head, 0, 4, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof ArtifactError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ArtifactError("artifact_missing", `${path} does not exist. Give the path of a wheel (.whl) or an archive (.tar.gz, .tgz, .zip).`, { cause: error });
    if (code === "EISDIR") throw new ArtifactError("artifact_unrecognised", `${path} is a directory. Give the path of a wheel (.whl) or an archive (.tar.gz, .tgz, .zip).`, { cause: error });
    throw new ArtifactError("artifact_unreadable", `${path} cannot be read (${code ?? (error as Error).message}). Check its permissions.`, { cause: error });
  }
  const lower = fileName.toLowerCase();
  const isZip = startsWith(head, ZIP_MAGIC) || startsWith(head, ZIP_EMPTY_MAGIC);
  const isGzip = startsWith(head, GZIP_MAGIC);
  if (lower.endsWith(".whl") && isZip) return { kind: "wheel", format: "whl", path, fileName, size };
  if ((lower.endsWith(".tar.gz") || lower.endsWith(".tgz")) && isGzip) return { kind: "archive", format: "tar.gz", path, fileName, size };
  if (lower.endsWith(".zip") && isZip) return { kind: "archive", format: "zip", path, fileName, size };
  const seen = head.length === 0 ? "it is empty" : `its first bytes are ${head.toString("hex")} (${isZip ? "zip" : isGzip ? "gzip" : "neither zip nor gzip"})`;
  throw new ArtifactError(
    "artifact_unrecognised",
    `${path} is neither a wheel nor an archive: ${seen}. Accepted: a wheel (.whl, zip bytes) or an archive (.tar.gz or .tgz with gzip bytes, .zip with zip bytes).`,
  );
}
