/** A tar (ustar, owner root, mtime 0) of a few trusted in-memory files, for putArchive at "/". */
export async function tarFiles(files: Array<{ path: string; content: Buffer | string; mode?: number }>): Promise<Buffer> {
  const { Header } = await import("tar");
  const parts: Buffer[] = [];
  for (const file of files) {
    const body = Buffer.from(file.content);
    const header = Buffer.alloc(512);
    new Header({ path: file.path.replace(/^\/+/, ""), mode: file.mode ?? 0o644, size: body.length, type: "File", mtime: new Date(0), uid: 0, gid: 0 }).encode(header, 0);
    const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
    body.copy(padded);
    parts.push(header, padded);
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
