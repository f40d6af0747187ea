import { PassThrough } from "node:stream";
import type Docker from "dockerode";

export type OutputListener = (text: string, stream: "stdout" | "stderr") => void;

/** An exec's output as it comes, and its exit code once its stream ends. */
export interface FollowedExec {
  /** Gets every output chunk; what came before the first listener is handed to it first. */
  onOutput(listener: OutputListener): void;
  exit: Promise<number>;
}

/**
 * Follows a started exec's multiplexed stream: output to listeners (with a backlog until the first
 * one), and the exit code from the engine once the stream ends. The first 4 kB of output go to
 * `unrunnable` at the end, where the engine reports a command the kernel could not execute (a
 * foreign binary without binfmt); `failure` names an engine error in the caller's terms.
 */
export function followExec(
  modem: Docker["modem"],
  exec: Docker.Exec,
  stream: NodeJS.ReadableStream,
  options: { command: string[]; unrunnable: (head: string) => Error | undefined; failure: (what: string, cause: unknown) => Error },
): FollowedExec {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  modem.demuxStream(stream, stdout, stderr);
  const listeners: OutputListener[] = [];
  const backlog: Array<[string, "stdout" | "stderr"]> = [];
  let head = "";
  const emit = (text: string, s: "stdout" | "stderr"): void => {
    if (head.length < 4096) head += text;
    if (listeners.length === 0) backlog.push([text, s]);
    for (const l of listeners) l(text, s);
  };
  stdout.on("data", (c: Buffer) => emit(c.toString("utf8"), "stdout"));
  stderr.on("data", (c: Buffer) => emit(c.toString("utf8"), "stderr"));
  const exit = new Promise<number>((resolve, reject) => {
    stream.on("end", () => {
      const unrunnable = options.unrunnable(head);
      if (unrunnable) return reject(unrunnable);
      exec.inspect().then(
        (info) => resolve(info.ExitCode ?? -1),
        (cause: unknown) => reject(options.failure(`inspect the exit of \`${options.command.join(" ")}\``, cause)),
      );
    });
    stream.on("error", (cause: unknown) => reject(options.failure(`run \`${options.command.join(" ")}\``, cause)));
  });
  return {
    onOutput(listener) {
      listeners.push(listener);
      for (const [text, s] of backlog.splice(0)) listener(text, s);
    },
    exit,
  };
}
