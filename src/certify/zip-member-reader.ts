import { inflateRawSync } from "node:zlib";
import { crc32 } from "../fixtures/encoding/crc32.ts";
import { readZipDirectory, zipEntryData, type ZipRecord } from "../fixtures/inspect/zip-directory-reader.ts";

/** A member whose bytes cannot be recovered as its headers describe them. */
export class ZipMemberError extends Error {
  readonly code = "zip_member_unreadable";
}

/**
 * The members of a zip held in memory: the directory through the project's byte-level reader, one
 * member inflated at a time on request with its declared size and CRC checked. Nothing is written to
 * disk, so a hostile name can never land anywhere.
 */
export class ZipMemberReader {
  readonly records: ZipRecord[];
  private readonly byName = new Map<string, ZipRecord>();

  /** Throws when the directory is unreadable (`ZipFormatError`, or a RangeError on a truncated file). */
  constructor(private readonly zip: Buffer) {
    this.records = readZipDirectory(zip);
    for (const r of this.records) {
      const name = r.name.toString("utf8");
      if (!this.byName.has(name)) this.byName.set(name, r);
    }
  }

  /** Member names in directory order (directories end with `/`). */
  get names(): string[] {
    return this.records.map((r) => r.name.toString("utf8"));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  record(name: string): ZipRecord | undefined {
    return this.byName.get(name);
  }

  /** The member's bytes; `maxBytes` refuses members declared larger, before inflating. */
  read(nameOrRecord: string | ZipRecord, maxBytes = Number.MAX_SAFE_INTEGER): Buffer {
    const record = typeof nameOrRecord === "string" ? this.byName.get(nameOrRecord) : nameOrRecord;
    if (record === undefined) throw new ZipMemberError(`no member named ${JSON.stringify(nameOrRecord)}`);
    const name = record.name.toString("utf8");
    if (record.flags & 0x1) throw new ZipMemberError(`${name} is encrypted`);
    if (record.uncompressedSize > maxBytes) throw new ZipMemberError(`${name} declares ${record.uncompressedSize} bytes, more than the ${maxBytes} read here`);
    let data: Buffer;
    try {
      const raw = zipEntryData(this.zip, record);
      if (raw.length !== record.compressedSize) throw new ZipMemberError(`${name} is truncated: ${raw.length} of ${record.compressedSize} compressed bytes`);
      if (record.method === 0) data = Buffer.from(raw);
      // One byte over the declared size is enough to prove the header lies; never inflate a bomb further.
      else if (record.method === 8) data = inflateRawSync(raw, { maxOutputLength: Math.max(1, record.uncompressedSize + 1) });
      else throw new ZipMemberError(`${name} uses compression method ${record.method}; only stored (0) and deflate (8) are read`);
    } catch (error) {
      if (error instanceof ZipMemberError) throw error;
      throw new ZipMemberError(`${name} cannot be inflated: ${(error as Error).message}`, { cause: error });
    }
    if (data.length !== record.uncompressedSize) throw new ZipMemberError(`${name} inflates to ${data.length} bytes, its header says ${record.uncompressedSize}`);
    const crc = crc32(data);
    if (crc !== record.crc >>> 0) throw new ZipMemberError(`${name} has CRC-32 ${crc.toString(16)}, its header says ${(record.crc >>> 0).toString(16)}`);
    return data;
  }
}
