/** The oracle: what the contract predicts from fixture declarations and host facts, never from a host's answer. */
export { isPep440Specifier, isPep440Version, pep440Contains, Pep440Error, specifierClauses } from "./pep440.ts";
export { parseExtensionRequirement, predictWheels, type ExtensionRequirement, type WheelHostFacts, type WheelOutcome } from "./wheel-oracle.ts";
export {
  diagnosticBelongsTo,
  judgeWheels,
  normaliseDistribution,
  type HostDiagnostic,
  type HostRegistry,
  type ListedExtension,
  type WheelJudgement,
  type WheelObservation,
  type WitnessEvent,
} from "./wheel-judge.ts";
export {
  DEFAULT_HOST_RANGE,
  detectPlatform,
  npmRangeSatisfies,
  pickPlatformPackage,
  predictHostRange,
  requiredHostRange,
  UNIVERSAL,
  type HostRangeVerdict,
  type PlatformPick,
} from "./archive-oracle.ts";
export { OracleError } from "./oracle-error.ts";
export { isValidExtensionId, localExtensionId } from "./extension-id.ts";
export { schemaDefaults } from "./config-schema-defaults.ts";
