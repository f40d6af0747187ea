/**
 * Reads the rows of a SQLite database file's tables from its bytes, so a host's database can be
 * looked at through the Engine API (the file read over the archive endpoint) instead of a Python
 * process in the container. Deliberately narrow: a rollback-journal database in UTF-8, rowid
 * tables, every value returned as SQLite stores it. Whatever it was not built for (WAL, UTF-16, a
 * schema it cannot parse, a damaged page) is `SqliteUnreadable`, and the caller asks SQLite itself.
 */

/** A value as SQLite stores it (REAL as a number, BLOB as bytes). */
export type SqliteValue = null | bigint | number | string | Buffer;

/** One row: its rowid and its columns by declared name (an INTEGER PRIMARY KEY column holds the rowid). */
export interface SqliteRow {
  rowid: bigint;
  values: Record<string, SqliteValue>;
}

/** The file holds something this reader does not read exactly; ask SQLite. */
export class SqliteUnreadable extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "SqliteUnreadable";
  }
}

const HEADER = "SQLite format 3\0";

interface Table {
  rootPage: number;
  columns: string[];
  /** Index of the INTEGER PRIMARY KEY column (the rowid's alias), -1 without one. */
  rowidAlias: number;
}

export class SqliteFile {
  private readonly pageSize: number;
  private readonly usable: number;
  private readonly tables = new Map<string, Table>();

  constructor(private readonly bytes: Buffer) {
    if (bytes.length < 100 || bytes.subarray(0, 16).toString("latin1") !== HEADER) throw new SqliteUnreadable("not a SQLite 3 database");
    const size = bytes.readUInt16BE(16);
    this.pageSize = size === 1 ? 65536 : size;
    if (this.pageSize < 512 || (this.pageSize & (this.pageSize - 1)) !== 0) throw new SqliteUnreadable(`page size ${this.pageSize}`);
    if (bytes[18] !== 1 || bytes[19] !== 1) throw new SqliteUnreadable(`file format ${bytes[18]}/${bytes[19]} (2 is WAL: recent commits may live in the -wal file)`);
    this.usable = this.pageSize - bytes[20]!;
    if (bytes.readUInt32BE(56) !== 1 && bytes.readUInt32BE(56) !== 0) throw new SqliteUnreadable(`text encoding ${bytes.readUInt32BE(56)} (only UTF-8 is read)`);
    // The in-header page count is valid only when written by a writer that keeps it (both counters equal).
    const pages = bytes.readUInt32BE(28);
    if (bytes.readUInt32BE(24) !== bytes.readUInt32BE(92) || pages * this.pageSize !== bytes.length) throw new SqliteUnreadable(`the file is ${bytes.length} bytes, its header says ${pages} pages of ${this.pageSize}`);
    for (const row of this.scan(1)) {
      const [type, name, , rootPage, sql] = row.record;
      if (type !== "table" || typeof name !== "string" || typeof sql !== "string") continue;
      this.tables.set(name, { rootPage: Number(rootPage), ...parseColumns(sql) });
    }
  }

  /** Whether the schema has a table of that name. */
  hasTable(name: string): boolean {
    return this.tables.has(name);
  }

  /** Every row of a table in rowid order (what a scan of it without ORDER BY gives). */
  rows(table: string): SqliteRow[] {
    const t = this.tables.get(table);
    if (!t) throw new SqliteUnreadable(`no table ${table}`);
    return [...this.scan(t.rootPage)].map(({ rowid, record }) => {
      const values: Record<string, SqliteValue> = {};
      // A column added by ALTER TABLE after a row was written is missing from its record: NULL.
      t.columns.forEach((c, i) => (values[c] = i === t.rowidAlias ? rowid : (record[i] ?? null)));
      return { rowid, values };
    });
  }

  private page(n: number): Buffer {
    if (n < 1 || n * this.pageSize > this.bytes.length) throw new SqliteUnreadable(`page ${n} is outside the file`);
    return this.bytes.subarray((n - 1) * this.pageSize, n * this.pageSize);
  }

  /** The cells of a table b-tree, in key order. */
  private *scan(root: number, depth = 0): Generator<{ rowid: bigint; record: SqliteValue[] }> {
    if (depth > 64) throw new SqliteUnreadable("b-tree deeper than 64 levels (a loop?)");
    const page = this.page(root);
    const at = root === 1 ? 100 : 0;
    const type = page[at];
    const cells = page.readUInt16BE(at + 3);
    const header = type === 5 ? 12 : 8;
    if (type !== 5 && type !== 13) throw new SqliteUnreadable(`page ${root} is not a table b-tree page (type ${type})`);
    for (let i = 0; i < cells; i++) {
      const offset = page.readUInt16BE(at + header + 2 * i);
      if (type === 5) {
        yield* this.scan(page.readUInt32BE(offset), depth + 1);
        continue;
      }
      const [payloadSize, a] = varint(page, offset);
      const [rowid, b] = varint(page, a);
      yield { rowid, record: decodeRecord(this.payload(page, b, Number(payloadSize))) };
    }
    if (type === 5) yield* this.scan(page.readUInt32BE(at + 8), depth + 1);
  }

  /** A table leaf cell's payload: what fits on the page, then the overflow chain. */
  private payload(page: Buffer, start: number, size: number): Buffer {
    const u = this.usable;
    const x = u - 35;
    if (size <= x) return page.subarray(start, start + size);
    const m = Math.floor(((u - 12) * 32) / 255) - 23;
    const k = m + ((size - m) % (u - 4));
    const local = k <= x ? k : m;
    const parts = [page.subarray(start, start + local)];
    let left = size - local;
    let next = page.readUInt32BE(start + local);
    for (let hops = 0; left > 0; hops++) {
      if (next === 0 || hops > this.bytes.length / this.pageSize) throw new SqliteUnreadable("broken overflow chain");
      const overflow = this.page(next);
      const take = Math.min(left, u - 4);
      parts.push(overflow.subarray(4, 4 + take));
      left -= take;
      next = overflow.readUInt32BE(0);
    }
    return Buffer.concat(parts);
  }
}

/** SQLite's variable-length integer at `offset`: the value and the offset after it. */
function varint(b: Buffer, offset: number): [bigint, number] {
  let v = 0n;
  for (let i = 0; i < 9; i++) {
    const byte = b[offset + i];
    if (byte === undefined) throw new SqliteUnreadable("truncated varint");
    if (i === 8) return [BigInt.asIntN(64, (v << 8n) | BigInt(byte)), offset + 9];
    v = (v << 7n) | BigInt(byte & 0x7f);
    if (byte < 0x80) return [BigInt.asIntN(64, v), offset + i + 1];
  }
  throw new SqliteUnreadable("unreachable");
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

function decodeRecord(p: Buffer): SqliteValue[] {
  const [headerSize, first] = varint(p, 0);
  const types: bigint[] = [];
  for (let at = first; at < Number(headerSize); ) {
    const [t, next] = varint(p, at);
    types.push(t);
    at = next;
  }
  const values: SqliteValue[] = [];
  let at = Number(headerSize);
  for (const t of types) {
    const n = Number(t);
    if (n === 0) values.push(null);
    else if (n >= 1 && n <= 6) {
      const width = [0, 1, 2, 3, 4, 6, 8][n]!;
      let v = 0n;
      for (let i = 0; i < width; i++) v = (v << 8n) | BigInt(p[at + i]!);
      values.push(BigInt.asIntN(width * 8, v));
      at += width;
    } else if (n === 7) {
      values.push(p.readDoubleBE(at));
      at += 8;
    } else if (n === 8 || n === 9) values.push(BigInt(n - 8));
    else if (n >= 12) {
      const len = Math.floor((n - 12) / 2);
      const bytes = p.subarray(at, at + len);
      if (bytes.length !== len) throw new SqliteUnreadable("record shorter than its header says");
      if (n % 2 === 0) values.push(Buffer.from(bytes));
      else {
        try {
          values.push(UTF8.decode(bytes));
        } catch {
          throw new SqliteUnreadable("TEXT that is not UTF-8");
        }
      }
      at += len;
    } else throw new SqliteUnreadable(`reserved serial type ${n}`);
  }
  return values;
}

/**
 * Column names of a `CREATE TABLE name (...)` statement, in order, and which one is the INTEGER
 * PRIMARY KEY. Anything unusual (quoted names with parentheses, WITHOUT ROWID, AS SELECT) is refused.
 */
export function parseColumns(sql: string): { columns: string[]; rowidAlias: number } {
  const open = sql.indexOf("(");
  const close = sql.lastIndexOf(")");
  if (open < 0 || close < open || /\bWITHOUT\s+ROWID\b/i.test(sql.slice(close))) throw new SqliteUnreadable(`a table definition this reader does not take: ${sql}`);
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of sql.slice(open + 1, close)) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(current.trim());
      current = "";
    } else current += ch;
  }
  parts.push(current.trim());
  const columns: string[] = [];
  let rowidAlias = -1;
  for (const part of parts) {
    if (/^(CONSTRAINT|PRIMARY\s+KEY|UNIQUE|CHECK|FOREIGN\s+KEY)\b/i.test(part)) continue;
    const m = /^(?:"((?:[^"]|"")+)"|`([^`]+)`|\[([^\]]+)\]|([A-Za-z_][\w$]*))\s*(.*)$/s.exec(part);
    if (!m) throw new SqliteUnreadable(`a column definition this reader does not take: ${part}`);
    const name = m[1]?.replace(/""/g, '"') ?? m[2] ?? m[3] ?? m[4]!;
    if (/^INTEGER\s+PRIMARY\s+KEY\b(?!\s+DESC)/i.test(m[5]!.trim())) rowidAlias = columns.length;
    columns.push(name);
  }
  return { columns, rowidAlias };
}
