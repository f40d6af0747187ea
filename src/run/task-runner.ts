/** One step of a run: its teardown is registered before its setup runs. */
export interface Task {
  title: string;
  setup(signal: AbortSignal): Promise<void>;
  /** Runs in reverse order after every later step, even after a failure or an interrupt. */
  teardown?(): Promise<void>;
}

export type TaskStatus = "passed" | "failed" | "interrupted";

/**
 * Runs tasks in order; on failure or abort the remaining setups are skipped and every registered
 * teardown runs in reverse order (after playwright's runner/taskRunner.ts). A failing teardown is
 * reported and does not stop the others.
 */
export class TaskRunner {
  private readonly teardowns: Array<{ title: string; fn: () => Promise<void> }> = [];

  constructor(private readonly log: (line: string) => void) {}

  async run(tasks: Task[], signal: AbortSignal): Promise<{ status: TaskStatus; error?: unknown }> {
    let status: TaskStatus = "passed";
    let error: unknown;
    for (const task of tasks) {
      if (signal.aborted) {
        status = "interrupted";
        break;
      }
      if (task.teardown) this.teardowns.push({ title: task.title, fn: task.teardown.bind(task) });
      try {
        await task.setup(signal);
      } catch (e) {
        status = signal.aborted ? "interrupted" : "failed";
        error = e;
        break;
      }
    }
    await this.teardownAll();
    return { status: signal.aborted ? "interrupted" : status, error };
  }

  private async teardownAll(): Promise<void> {
    while (this.teardowns.length > 0) {
      const { title, fn } = this.teardowns.pop()!;
      try {
        await fn();
      } catch (e) {
        this.log(`teardown of "${title}" failed: ${(e as Error).message}`);
      }
    }
  }
}
