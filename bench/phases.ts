/**
 * The phases the benchmark breaks each part's time into. Each is a sum over containers (or cases) of
 * the time spent in it, not a share of the wall time: hosts run side by side in (a) and (c).
 */
export const PHASES = ["image", "container", "install", "boot", "assertions", "teardown"] as const;
export type Phase = (typeof PHASES)[number];

/** Milliseconds per phase; `null` where the part gives no honest measure of it. */
export type PhaseTimes = Record<Phase, number | null>;

export const zeroPhases = (): Record<Phase, number> => ({ image: 0, container: 0, install: 0, boot: 0, assertions: 0, teardown: 0 });

export const isPhase = (value: string): value is Phase => (PHASES as readonly string[]).includes(value);
