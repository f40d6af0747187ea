import { describe, expect, it } from "vitest";
import { TaskRunner, type Task } from "./task-runner.ts";

function recorder() {
  const events: string[] = [];
  const task = (name: string, opts: { fail?: boolean; abort?: AbortController } = {}): Task => ({
    title: name,
    async setup() {
      events.push(`setup ${name}`);
      opts.abort?.abort();
      if (opts.fail) throw new Error(`${name} failed`);
    },
    async teardown() {
      events.push(`teardown ${name}`);
    },
  });
  return { events, task };
}

describe("TaskRunner", () => {
  it("tears down in reverse order after success", async () => {
    const { events, task } = recorder();
    const result = await new TaskRunner(() => {}).run([task("a"), task("b")], new AbortController().signal);
    expect(result.status).toBe("passed");
    expect(events).toEqual(["setup a", "setup b", "teardown b", "teardown a"]);
  });

  it("tears down the failing step too, because its teardown was registered before its setup", async () => {
    const { events, task } = recorder();
    const result = await new TaskRunner(() => {}).run([task("a"), task("b", { fail: true }), task("c")], new AbortController().signal);
    expect(result.status).toBe("failed");
    expect(events).toEqual(["setup a", "setup b", "teardown b", "teardown a"]);
  });

  it("stops at an interrupt and still tears everything down", async () => {
    const { events, task } = recorder();
    const abort = new AbortController();
    const result = await new TaskRunner(() => {}).run([task("a", { abort }), task("b")], abort.signal);
    expect(result.status).toBe("interrupted");
    expect(events).toEqual(["setup a", "teardown a"]);
  });

  it("keeps tearing down after a teardown fails, and reports it", async () => {
    const lines: string[] = [];
    const events: string[] = [];
    const tasks: Task[] = [
      { title: "a", setup: async () => {}, teardown: async () => void events.push("teardown a") },
      { title: "b", setup: async () => {}, teardown: async () => { throw new Error("boom"); } },
    ];
    await new TaskRunner((l) => lines.push(l)).run(tasks, new AbortController().signal);
    expect(events).toEqual(["teardown a"]);
    expect(lines).toEqual(['teardown of "b" failed: boom']);
  });
});
