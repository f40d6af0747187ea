import { isDeepStrictEqual } from "node:util";
import type { HostDiagnostic } from "./wheel-judge.ts";
import { KERNEL_THREAD_NAMES, type KernelCall, type KernelPrediction } from "./kernel-oracle.ts";

/**
 * Compares what a kernel did with what the oracle predicted (src/oracle/kernel-oracle.ts). Each
 * function returns the differences as sentences (empty: the host agrees); the suite asserts them
 * per clause, so a failure says what differed without a debugger.
 */

/** One HTTP answer: its status and its body (parsed JSON, or the raw text when it is not JSON). */
export interface KernelAnswer {
  status: number;
  body: unknown;
}

/** One plugin as a kernel lists it (wire: src/hosts/kernel-wire.ts). */
export interface ListedKernelPlugin {
  name: string;
  domain: string;
  module: string;
  state: string;
  error?: string | null;
  endpoints: Array<{ method: string; path: string }>;
}

/** The diagnostic codes of the kernel (SEED-SYSTEMS.md, KRN). */
export const KERNEL_DIAGNOSTIC_CODES: readonly string[] = ["kernel_module_failed", "kernel_unknown_dependency", "kernel_plugin_failed", "kernel_boot_failed"];

const show = (v: unknown): string => JSON.stringify(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The thread name a served answer's data reports, or undefined. */
export function reportedThread(answer: KernelAnswer): string | undefined {
  const data = isObject(answer.body) ? answer.body.data : undefined;
  return isObject(data) && typeof data.thread === "string" ? data.thread : undefined;
}

/** How an answer differs from the call's prediction: status, the envelope's exact keys and values, and the thread. */
export function answerProblems(call: KernelCall, answer: KernelAnswer): string[] {
  const at = `${call.key} (${call.fixture})`;
  if (!call.served || call.expected === null) {
    return answer.status === 404 ? [] : [`${at}: its plugin did not boot, so the endpoint must not be served (404); got ${answer.status} ${show(answer.body)}`];
  }
  const expected = call.expected;
  const problems: string[] = [];
  if (answer.status !== expected.status) problems.push(`${at}: status ${answer.status}, predicted ${expected.status}; body ${show(answer.body)}`);
  const body = answer.body;
  if (!isObject(body)) return [...problems, `${at}: the answer is not a JSON object: ${show(body)}`];
  const keys = Object.keys(body).sort();
  if (!isDeepStrictEqual(keys, ["data", "error", "success"])) problems.push(`${at}: the envelope has keys ${keys.join(", ")}, not exactly success, data, error`);
  if (body.success !== expected.envelope.success) problems.push(`${at}: success ${show(body.success)}, predicted ${expected.envelope.success}`);
  if (!isDeepStrictEqual(body.error ?? null, expected.envelope.error)) problems.push(`${at}: error ${show(body.error)}, predicted ${show(expected.envelope.error)}`);
  if (expected.thread === null) {
    if (!isDeepStrictEqual(body.data ?? null, expected.envelope.data)) problems.push(`${at}: data ${show(body.data)}, predicted ${show(expected.envelope.data)}`);
    return problems;
  }
  if (!isObject(body.data)) return [...problems, `${at}: data ${show(body.data)} is not the object the handler returned`];
  const { thread, ...rest } = body.data;
  if (!isDeepStrictEqual(rest, expected.envelope.data)) problems.push(`${at}: data ${show(rest)}, predicted ${show(expected.envelope.data)}`);
  const pattern = KERNEL_THREAD_NAMES[expected.thread];
  if (typeof thread !== "string" || !pattern.test(thread)) problems.push(`${at}: the ${call.handler} handler ran on thread ${show(thread)}, predicted the kernel ${expected.thread} (${pattern})`);
  return problems;
}

/** How the kernel's listing differs: which plugins, in what order, their domain, module, state and endpoints. */
export function pluginProblems(prediction: KernelPrediction, listed: readonly ListedKernelPlugin[]): string[] {
  const problems: string[] = [];
  const predicted = prediction.plugins.filter((p) => p.state !== "not-loaded");
  const names = listed.map((p) => p.name);
  if (!isDeepStrictEqual(names, predicted.map((p) => p.name))) problems.push(`listed plugins ${show(names)}, predicted ${show(predicted.map((p) => p.name))} (in load order)`);
  for (const p of predicted) {
    const l = listed.find((x) => x.name === p.name);
    if (!l) continue;
    if (l.state !== p.state) problems.push(`${p.name} (${p.fixture}): state ${show(l.state)}, predicted ${p.state}${l.error ? ` (error: ${l.error})` : ""}`);
    if (l.domain !== p.domain) problems.push(`${p.name}: domain ${show(l.domain)}, predicted ${p.domain}`);
    const stem = p.file.replace(/^.*\/|\.py$/g, "");
    if (typeof l.module !== "string" || !l.module.includes(stem)) problems.push(`${p.name}: module ${show(l.module)} does not name ${stem}`);
    const order = (e: { method: string; path: string }): string => `${e.path} ${e.method}`;
    const got = l.endpoints.map((e) => ({ method: e.method, path: e.path })).sort((a, b) => order(a).localeCompare(order(b)));
    const want = [...p.endpoints].sort((a, b) => order(a).localeCompare(order(b)));
    if (!isDeepStrictEqual(got, want)) problems.push(`${p.name}: endpoints ${show(got)}, predicted ${show(want)}`);
    if (p.state === "failed" && !(typeof l.error === "string" && l.error.length > 0)) problems.push(`${p.name}: failed without an error in the listing`);
  }
  return problems;
}

/** How the kernel's diagnostics differ: each predicted one exactly once, naming what it must; no other kernel diagnostic. */
export function diagnosticProblems(prediction: KernelPrediction, diagnostics: readonly HostDiagnostic[]): string[] {
  const problems: string[] = [];
  const kernel = diagnostics.filter((d) => KERNEL_DIAGNOSTIC_CODES.includes(d.code));
  for (const p of prediction.diagnostics) {
    const matching = kernel.filter((d) => d.code === p.code && p.mustName.every((n) => d.message.includes(n)));
    if (matching.length !== 1) {
      const sameCode = kernel.filter((d) => d.code === p.code).map((d) => d.message);
      problems.push(`${p.fixture}: ${matching.length} ${p.code} diagnostic(s) naming ${show(p.mustName)}, predicted exactly 1; ${p.code} messages: ${show(sameCode)}`);
    }
  }
  if (kernel.length !== prediction.diagnostics.length) problems.push(`${kernel.length} kernel diagnostic(s), predicted ${prediction.diagnostics.length}: ${show(kernel.map((d) => `${d.code}: ${d.message}`))}`);
  return problems;
}
