import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { DistcheckError } from "../errors/distcheck-error.ts";

/** Top-level folders of a host's tree that never go into its image: its tests, and its mutants' edits (applied at build time). */
const NOT_IN_IMAGE = new Set(["tests", "mutants"]);

function treeFiles(hostDir: string, top: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(hostDir, rel)).sort()) {
      if (name === "__pycache__" || name === "build" || name === "dist" || name.endsWith(".egg-info") || name.startsWith(".")) continue;
      const relPath = rel === "" ? name : `${rel}/${name}`;
      if (rel === "" && top === "" && NOT_IN_IMAGE.has(name)) continue;
      const st = statSync(path.join(hostDir, relPath));
      if (st.isDirectory()) walk(relPath);
      else if (st.isFile() && !name.endsWith(".pyc")) out.push(relPath);
    }
  };
  if (top === "" || existsSync(path.join(hostDir, top))) walk(top);
  return out;
}

/** Files of a host's source tree that go into its image: no tests, mutants, caches or build output. */
export function hostSourceFiles(hostDir: string): string[] {
  return treeFiles(hostDir, "");
}

/**
 * Content hash of a host's source tree and of its `mutants/` folder: paths and bytes, in sorted
 * order. A mutant build's image is the source plus that mutant's edits, so its tag must change
 * with them; the hash cannot tell which mutant a tag is for, so an edited mutant rebuilds the
 * normal host image too (as when the mutants were branches in the source).
 */
export function hostSourceHash(hostDir: string): string {
  const hash = createHash("sha256");
  for (const rel of [...hostSourceFiles(hostDir), ...treeFiles(hostDir, "mutants")]) {
    hash.update(rel).update("\0").update(readFileSync(path.join(hostDir, rel))).update("\0");
  }
  return hash.digest("hex");
}

/** One text edit of a host source file: `find` occurs exactly once in the clean file and becomes `replace`. */
export interface SourceEdit {
  /** Path inside the host's tree, e.g. `src/distcheck_host/agent.py`. */
  file: string;
  find: string;
  replace: string;
}

/**
 * The files a mutant's edits change, with their edited contents (path inside the host's tree →
 * text). The tree on disk is only read. Throws `mutant_edit_failed` naming the mutant, the file and
 * the first line of `find` when a file is not part of the image or a `find` is missing, ambiguous
 * or changes nothing.
 */
export function applyMutantEdits(hostDir: string, mutant: string, edits: readonly SourceEdit[]): Map<string, string> {
  const fail = (edit: SourceEdit, what: string): DistcheckError =>
    new DistcheckError(
      "mutant_edit_failed",
      `Mutant ${mutant}: the edit of ${edit.file} at ${JSON.stringify(edit.find.split("\n")[0])} ${what}. Update hosts/${path.basename(hostDir)}/mutants/${mutant}.json to the current source (npx vitest run --project unit src/mutants checks every mutant).`,
      { category: "harness" },
    );
  if (edits.length === 0) {
    throw new DistcheckError("mutant_edit_failed", `Mutant ${mutant} has no edits, so its build would be the clean host. Give hosts/${path.basename(hostDir)}/mutants/${mutant}.json at least one edit.`, { category: "harness" });
  }
  const imageFiles = new Set(hostSourceFiles(hostDir));
  const edited = new Map<string, string>();
  for (const edit of edits) {
    if (!imageFiles.has(edit.file)) throw fail(edit, "names a file that is not in the host's image source");
    const clean = readFileSync(path.join(hostDir, edit.file), "utf8");
    const before = edited.get(edit.file) ?? clean;
    // Once in the clean file, and still once after this mutant's earlier edits of it.
    for (const text of [clean, before]) {
      const count = edit.find === "" ? 0 : text.split(edit.find).length - 1;
      if (count !== 1) throw fail(edit, count === 0 ? `does not occur in the ${text === clean ? "clean " : "edited "}file` : `occurs ${count} times in the ${text === clean ? "clean " : "edited "}file; it must occur once (add context lines)`);
    }
    const after = before.replace(edit.find, () => edit.replace);
    if (after === before) throw fail(edit, "changes nothing");
    edited.set(edit.file, after);
  }
  return edited;
}
