import { SOURCE_TREE_SKIPPED, type CertificationDocument, type Subject } from "./certification-document.ts";

/** A word for `sh`, quoted only when it needs to be. */
const quote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

/** The command that re-runs the certification of these artifacts (the static part reproduces byte for byte). */
export function certifyCommand(files: readonly string[], hostId: string): string {
  return `npx distcheck certify ${files.map(quote).join(" ")} --host ${quote(hostId)} --json`;
}

/**
 * A Python 3 script that prints a host source tree's digest as `sourceTreeDigest` computes it, so a
 * run bundle's subject can be checked without distcheck: `python3 - <tree> <<'EOF' ... EOF`.
 */
export function sourceTreeDigestScript(): string {
  return [
    "import hashlib, os, sys",
    `skip = {${SOURCE_TREE_SKIPPED.map((n) => JSON.stringify(n)).join(", ")}}`,
    "root, entries = sys.argv[1], []",
    "def walk(rel):",
    "    for name in os.listdir(os.path.join(root, rel)):",
    "        if name in skip: continue",
    "        child = f'{rel}/{name}' if rel else name",
    "        full = os.path.join(root, child)",
    "        if os.path.islink(full): entries.append((child.encode(), b'symlink:' + os.fsencode(os.readlink(full))))",
    "        elif os.path.isdir(full): walk(child)",
    "        elif os.path.isfile(full): entries.append((child.encode(), None))",
    "walk('')",
    "h = hashlib.sha256()",
    "for rel, link in sorted(entries):",
    "    data = link if link is not None else open(os.path.join(root, rel.decode()), 'rb').read()",
    "    h.update(rel + b'\\0' + data + b'\\0')",
    "print(h.hexdigest())",
  ].join("\n");
}

/** How to check one subject's digest: sha256sum for a file, the tree digest script for a host source folder. */
function subjectCheck(s: Subject): string[] {
  if (s.format !== "tree") return [`echo '${s.sha256}  ${s.file}' | sha256sum -c -`];
  return [`# ${s.file}/ (a source tree, ${s.files ?? "?"} files): prints ${s.sha256}`, `python3 - ${quote(s.file)} <<'EOF'`, sourceTreeDigestScript(), "EOF"];
}

/** The command that re-runs a run bundle's conformance run of a host. */
function runCommand(hostId: string): string {
  return `npx distcheck run --host ${quote(hostId)} --bundle signoff.tar.gz --sign-key <your key>.pem`;
}

/** `REPRODUCE.md` of a bundle: how to check it, and how to re-run what it records. */
export function renderReproduceGuide(doc: CertificationDocument): string {
  const files = doc.subjects.map((s) => s.file);
  const ofRun = doc.subjects.some((s) => s.kind === "host-source");
  return [
    "# Reproducing this certification",
    "",
    `Verdict: **${doc.verdict}**, by ${doc.tool.name} ${doc.tool.version} (commit ${doc.tool.commit}) against contract ${doc.contract.version}.`,
    "",
    "## Check this bundle (offline)",
    "",
    "```sh",
    "npx distcheck verify <this bundle>.tar.gz --key <signer's public key>.pem",
    "```",
    "",
    "It checks the DSSE signature over the in-toto statement, the statement's subjects (the artifacts' sha256",
    "and the digest of SHA256SUMS), every file against SHA256SUMS, and re-derives the verdict from",
    "`cells/*/results.json`. Without distcheck, after extracting the bundle: `sha256sum -c SHA256SUMS`.",
    "",
    "## Check the artifacts",
    "",
    "```sh",
    ...doc.subjects.flatMap(subjectCheck),
    "```",
    "",
    "## Re-run the certification",
    "",
    ofRun ? "With the same tool version, and the host's source checked above where matrix.json (or DISTCHECK_SOURCE_<ID>) points:" : "With the same tool version:",
    "",
    "```sh",
    `git clone <distcheck repository> && cd distcheck && git checkout ${doc.tool.commit} && npm ci`,
    ofRun ? runCommand(doc.host.id) : certifyCommand(files, doc.host.id),
    "```",
    "",
    `Declared cells: ${doc.matrix.declared.join(", ") || "none (static checks only)"}.`,
    "",
  ].join("\n");
}
