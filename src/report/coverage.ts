/**
 * The clauses the default matrix must cover against the reference host (issue scope: every WHL,
 * ARC and HST clause). DIR, BND and KRN belong to other hosts and are not required here.
 */
export const REQUIRED_CLAUSES: readonly string[] = [
  ...Array.from({ length: 15 }, (_, i) => `WHL-${String(i + 1).padStart(2, "0")}`),
  ...Array.from({ length: 16 }, (_, i) => `ARC-${String(i + 1).padStart(2, "0")}`),
  ...Array.from({ length: 3 }, (_, i) => `HST-${String(i + 1).padStart(2, "0")}`),
];
