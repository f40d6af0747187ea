/**
 * The core versions the compatibility suite boots a host at (WHL-08): both sides of every
 * `requires_core_version` range of the sample wheels, pre-releases on each side. A host that reads
 * its version from its own metadata (`coreVersionAtBoot: false`) gets one image per version, planned
 * with the others so a run builds them before its suites start.
 */
export const COMPATIBILITY_CORE_VERSIONS = ["0.7.0rc1", "0.7.0", "0.8.0rc0", "0.8.0rc1", "0.8.0", "1.0.0rc1", "1.1.0"] as const;
