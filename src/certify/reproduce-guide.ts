import type { CertificationDocument } from "./certification-document.ts";

/** The command that re-runs the certification of these artifacts (the static part reproduces byte for byte). */
export function certifyCommand(files: readonly string[], hostId: string): string {
  const quote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);
  return `npx distcheck certify ${files.map(quote).join(" ")} --host ${quote(hostId)} --json`;
}

/** `REPRODUCE.md` of a bundle: how to check it, and how to re-run what it records. */
export function renderReproduceGuide(doc: CertificationDocument): string {
  const files = doc.subjects.map((s) => s.file);
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
    ...doc.subjects.map((s) => `echo '${s.sha256}  ${s.file}' | sha256sum -c -`),
    "```",
    "",
    "## Re-run the certification",
    "",
    "With the same tool version:",
    "",
    "```sh",
    `git clone <distcheck repository> && cd distcheck && git checkout ${doc.tool.commit} && npm ci`,
    certifyCommand(files, doc.host.id),
    "```",
    "",
    `Declared cells: ${doc.matrix.declared.join(", ") || "none (static checks only)"}.`,
    "",
  ].join("\n");
}
