import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

/** Files of a host's source tree that go into its image: no tests, caches or build output. */
export function hostSourceFiles(hostDir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(hostDir, rel)).sort()) {
      if (name === "__pycache__" || name === "build" || name === "dist" || name.endsWith(".egg-info") || name.startsWith(".")) continue;
      const relPath = rel === "" ? name : `${rel}/${name}`;
      if (relPath === "tests") continue;
      const st = statSync(path.join(hostDir, relPath));
      if (st.isDirectory()) walk(relPath);
      else if (st.isFile() && !name.endsWith(".pyc")) out.push(relPath);
    }
  };
  walk("");
  return out;
}

/** Content hash of a host's source tree: paths and bytes, in sorted order. */
export function hostSourceHash(hostDir: string): string {
  const hash = createHash("sha256");
  for (const rel of hostSourceFiles(hostDir)) {
    hash.update(rel).update("\0").update(readFileSync(path.join(hostDir, rel))).update("\0");
  }
  return hash.digest("hex");
}
