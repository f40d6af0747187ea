import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";

export const DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian";

/**
 * The Debian archive to debootstrap from: `DISTCHECK_DEBIAN_MIRROR` when set, else the first main
 * archive (not security, not third-party) that this machine's apt uses, else deb.debian.org.
 * Using apt's own source is what makes builds work on air-gapped machines with a local mirror.
 */
export function resolveDebianMirror(env: NodeJS.ProcessEnv = process.env, aptDir = "/etc/apt"): { url: string; source: string } {
  if (env.DISTCHECK_DEBIAN_MIRROR) return { url: env.DISTCHECK_DEBIAN_MIRROR, source: "DISTCHECK_DEBIAN_MIRROR" };
  const files: string[] = [];
  try {
    files.push(path.join(aptDir, "sources.list"));
    for (const f of readdirSync(path.join(aptDir, "sources.list.d"))) files.push(path.join(aptDir, "sources.list.d", f));
  } catch {
    // no apt configuration: fall through to the default
  }
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    const found = debianArchiveIn(text);
    if (found) return { url: found, source: file };
  }
  return { url: DEFAULT_DEBIAN_MIRROR, source: "default" };
}

/** The first URI in apt source text (one-line or deb822) that serves Debian's main archive. */
export function debianArchiveIn(text: string): string | undefined {
  const candidates: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#")) continue;
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (oneLine?.[1]) candidates.push(oneLine[1]);
    const deb822 = /^URIs:\s*(.+)$/i.exec(line);
    if (deb822?.[1]) candidates.push(...deb822[1].split(/\s+/));
  }
  return candidates.find((u) => /^https?:\/\//.test(u) && /\/debian\/?$/.test(u) && !/security/.test(u))?.replace(/\/$/, "");
}
