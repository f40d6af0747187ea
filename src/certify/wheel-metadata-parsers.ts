/**
 * Parsers for the text files of a wheel's `.dist-info` (PEP 427, the core metadata spec, the entry
 * points spec). They are lenient where pip is and return what they could not read instead of throwing.
 */

/** `Key: Value` headers up to the first blank line (METADATA, WHEEL); repeated keys keep every value. */
export function parseHeaders(text: string): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  let last: string | undefined;
  for (const line of text.replace(/\r\n/g, "\n").split("\n")) {
    if (line === "") break;
    // A continuation line (leading whitespace) belongs to the previous header.
    if (/^[ \t]/.test(line) && last !== undefined) {
      const values = headers.get(last)!;
      values[values.length - 1] += `\n${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    headers.set(last, [...(headers.get(last) ?? []), line.slice(colon + 1).trim()]);
  }
  return headers;
}

export function header(headers: Map<string, string[]>, key: string): string | undefined {
  return headers.get(key.toLowerCase())?.[0];
}

/** One RECORD row: path, `algo=urlsafe-b64-nopad` hash or empty, size or empty. */
export interface RecordRow {
  path: string;
  hash: string;
  size: string;
  line: number;
}

/** RECORD is CSV (RFC 4180 quoting). Rows with fewer than three fields are returned as malformed lines. */
export function parseRecord(text: string): { rows: RecordRow[]; malformed: number[] } {
  const rows: RecordRow[] = [];
  const malformed: number[] = [];
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  for (const [index, line] of lines.entries()) {
    if (line.trim() === "") continue;
    const fields = csvFields(line);
    if (fields === null || fields.length < 3) {
      malformed.push(index + 1);
      continue;
    }
    rows.push({ path: fields[0]!, hash: fields[1]!, size: fields[2]!, line: index + 1 });
  }
  return { rows, malformed };
}

function csvFields(line: string): string[] | null {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = "";
      i++;
      for (;;) {
        if (i >= line.length) return null;
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += line[i++];
      }
      fields.push(value);
      if (i < line.length && line[i] !== ",") return null;
      i++;
    } else {
      const comma = line.indexOf(",", i);
      const end = comma < 0 ? line.length : comma;
      fields.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return fields;
}

/** `entry_points.txt`: INI sections of `name = value`; `#` and `;` start comments. */
export function parseEntryPoints(text: string): Map<string, Map<string, string>> {
  const groups = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.replace(/\r\n/g, "\n").split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      const name = section[1]!.trim();
      current = groups.get(name) ?? new Map();
      groups.set(name, current);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0 || current === undefined) continue;
    current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return groups;
}

/** `module.path:attr.path [extras]` as the entry points spec writes it; null when it is not that. */
export function parseEntryPointValue(value: string): { module: string; attr: string | null } | null {
  const match = /^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*(?::\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*))?\s*(?:\[[^\]]*\])?$/.exec(value.trim());
  if (!match) return null;
  return { module: match[1]!, attr: match[2] ?? null };
}

/** A wheel file name (PEP 427): `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`. */
export function parseWheelFileName(fileName: string): { name: string; version: string; build?: string; tags: string } | null {
  const match = /^([^-]+)-([^-]+)(?:-(\d[^-]*))?-([^-]+)-([^-]+)-([^-]+)\.whl$/i.exec(fileName);
  if (!match) return null;
  const parsed: { name: string; version: string; build?: string; tags: string } = { name: match[1]!, version: match[2]!, tags: `${match[4]}-${match[5]}-${match[6]}` };
  if (match[3] !== undefined) parsed.build = match[3];
  return parsed;
}
