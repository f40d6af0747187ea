import type { ContainerEngine } from "../engine/container-engine.ts";
import type { RunEnvironment } from "../report/run-environment.ts";
import { ReproEnvironmentError } from "./repro-errors.ts";
import type { ReproTarget } from "./recorded-run.ts";

/** One image of the cell that is not what the recorded run ran on. */
export interface ImageFinding {
  role: "base" | "host";
  /** The tag the run recorded. */
  recordedTag: string;
  recordedId?: string;
  /** The tag a replay runs on now (from today's recipe and host source). */
  currentTag: string;
  /** The recorded tag's id in the engine now; absent when the tag is gone. */
  currentId?: string;
  problem: "missing" | "id_differs" | "tag_differs";
}

export interface ImageCheck {
  findings: ImageFinding[];
  /** The run recorded no images for the cell (an older run): nothing could be compared. */
  unrecorded: boolean;
  /** The command that builds the cell's images as the replay needs them. */
  rebuild: string;
}

/** The command that (re)builds a cell's images: a mutant's host layer is built by a run with that mutant. */
export function rebuildCommand(target: Pick<ReproTarget, "cell" | "mutant" | "suite">): string {
  const { platform, base, host } = target.cell;
  return target.mutant
    ? `npx distcheck run --mutant ${target.mutant} --platform ${platform} --python ${base} --host ${host} --suite ${target.suite}`
    : `npx distcheck images build --platform ${platform} --python ${base} --host ${host}`;
}

/**
 * Compares what the run recorded for the cell (tags and their image ids) with the engine now and
 * with the tags a replay computes from today's recipes: a recorded tag gone from the engine, a tag
 * that now names another image (rebuilt since), a recipe or host source that changed since (another
 * tag). Each is a replay on another image than the one that failed.
 */
export async function checkImages(target: Pick<ReproTarget, "cell" | "mutant" | "suite" | "images">, engine: ContainerEngine, current: { base: string; host: string }): Promise<ImageCheck> {
  const rebuild = rebuildCommand(target);
  const recorded: RunEnvironment["images"][string] | undefined = target.images;
  if (!recorded) return { findings: [], unrecorded: true, rebuild };
  const findings: ImageFinding[] = [];
  for (const [role, recordedTag, recordedId, currentTag] of [
    ["base", recorded.base, recorded.baseId, current.base],
    ["host", recorded.host, recorded.hostId, current.host],
  ] as const) {
    const now = await engine.inspectImage(recordedTag);
    const base = { role, recordedTag, recordedId, currentTag, currentId: now?.id };
    if (!now) findings.push({ ...base, problem: "missing" });
    else if (recordedId && now.id !== recordedId) findings.push({ ...base, problem: "id_differs" });
    else if (recordedTag !== currentTag) findings.push({ ...base, problem: "tag_differs" });
  }
  return { findings, unrecorded: false, rebuild };
}

function findingText(f: ImageFinding): string {
  switch (f.problem) {
    case "missing":
      return `the ${f.role} image ${f.recordedTag} the run used no longer exists in the engine`;
    case "id_differs":
      return `the ${f.role} image ${f.recordedTag} is ${f.currentId} now, the run used ${f.recordedId} (rebuilt since)`;
    case "tag_differs":
      return `the ${f.role} image changed since the run: its recipe or host source now gives ${f.currentTag}, the run used ${f.recordedTag}`;
  }
}

/**
 * Refuses a replay on other images unless `allowDifferent`: a missing image is `image_missing`,
 * another `image_differs`; both name every difference and the rebuild command. With
 * `allowDifferent` the differences come back as warnings; only the images the replay runs on must exist.
 */
export async function requireSameImages(check: ImageCheck, allowDifferent: boolean, engine: ContainerEngine, current: { base: string; host: string }): Promise<string[]> {
  const warnings = check.unrecorded ? ["the run recorded no image ids for this cell; the replay cannot prove it runs on the same image"] : [];
  if (check.findings.length === 0) return warnings;
  const lines = check.findings.map(findingText);
  if (!allowDifferent) {
    const missing = check.findings.some((f) => f.problem === "missing");
    throw new ReproEnvironmentError(
      missing ? "image_missing" : "image_differs",
      `The replay would not run on the image the test ran on: ${lines.join("; ")}. Rebuild with \`${check.rebuild}\` ` +
        `(this makes the images of today's recipe; to replay on them anyway, pass --allow-different-image).`,
    );
  }
  for (const tag of [current.base, current.host]) {
    if (!(await engine.inspectImage(tag))) {
      throw new ReproEnvironmentError("image_missing", `The image ${tag} the replay needs does not exist in ${engine.endpoint}. Build it with \`${check.rebuild}\`.`);
    }
  }
  return [...warnings, ...lines.map((l) => `--allow-different-image: ${l}`)];
}
