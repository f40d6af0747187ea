import { execa, type ResultPromise } from "execa";
import { resolveEndpoint } from "../engine/docker-engine.ts";
import type { Selection } from "../matrix/selection.ts";
import { toEnv, type RunProtocol } from "./run-protocol.ts";

/**
 * Starts one vitest process of a project for the platforms one engine serves, with the run protocol
 * in its environment (and `DOCKER_HOST` set to that engine): `distcheck run` and `distcheck certify`
 * both start their suites this way. Its output goes to this process's stdio (its stdout to this
 * process's stderr with `stdoutToStderr`, for a command whose stdout is JSON); it never rejects.
 */
export function startSuites(selection: Selection, project: string, files: string[], protocol: Omit<RunProtocol, "dockerHost" | "matrixFile"> & { platforms: string[] }, extraEnv: Record<string, string> = {}, options: { stdoutToStderr?: boolean } = {}): ResultPromise {
  const engine = selection.matrix.platforms.find((p) => p.id === protocol.platforms[0])?.engine ?? "env";
  // vitest itself, not through npx: a signal to the child (an interrupt, an engine that went away)
  // must reach vitest, which stops its workers; npx's npm and shell layers do not pass SIGTERM on.
  return execa("vitest", ["run", "--project", project, ...files], {
    cwd: selection.root,
    preferLocal: true,
    localDir: selection.root,
    ...(options.stdoutToStderr ? { stdin: "inherit", stdout: 2, stderr: "inherit" } : { stdio: "inherit" }),
    reject: false,
    env: { ...toEnv({ ...protocol, matrixFile: selection.matrixFile, dockerHost: resolveEndpoint(engine) }), ...extraEnv },
  });
}
