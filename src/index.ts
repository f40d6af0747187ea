// The public entry of distcheck's library: what suites and other tools may import.
// Everything not exported here is internal and may change without notice.

export { DistcheckError, MatrixError, RecipeError, InfrastructureError, ImageBuildError, ContainerError, isDistcheckError } from "./errors/distcheck-error.ts";
export { PLATFORM_IDS, platformInfo, nativePlatform, isPlatformId, type PlatformId, type PlatformInfo } from "./platform/platforms.ts";
export type { Matrix, MatrixPlatform, MatrixBase, MatrixHost, Cell, MatrixFilter } from "./matrix/matrix.ts";
export { loadMatrix, parseMatrix, filterMatrix, expandCells } from "./matrix/matrix-loader.ts";
export type { ImageRecipe, DebootstrapRecipe, RegistryRecipe } from "./images/image-recipe.ts";
export { loadRecipe, recipeHash, baseImageTag } from "./images/image-recipe.ts";
export { ImageService, type ImageTarget, type BaseImageTarget, type HostImageTarget } from "./images/image-service.ts";
export type { HostBuildSettings } from "./images/host-image-builder.ts";
export type { ContainerEngine } from "./engine/container-engine.ts";
export { DockerEngine, resolveEndpoint } from "./engine/docker-engine.ts";
export type { CellContainerFactory, StartedCellContainer, StoppedCellContainer, CellContainerOptions, FileToPut, ExecResult } from "./containers/cell-container.ts";
export { TestcontainersCellFactory } from "./containers/testcontainers-cell-factory.ts";
export { currentRun, runLabels, LABELS, type RunIdentity } from "./run/run-identity.ts";
export { sweep, type SweepReport } from "./run/run-sweeper.ts";
export { TaskRunner, type Task } from "./run/task-runner.ts";
export { runDoctor, systemProbe, type DoctorCheck } from "./doctor/doctor.ts";
export { select, enginesFor, referenceHost, projectRoot, PACKAGE_ROOT, type Selection, type MatrixOptions } from "./matrix/selection.ts";
export { plannedImages, buildImages, listImages, pruneImages, type ImagePlanOptions, type ImageRow } from "./images/image-planner.ts";
export { publishReport, reportedRun, resultsDirOf, type PublishReportOptions } from "./report/publish-report.ts";
export type { ReportSummary } from "./report/report-builder.ts";
export { runConformance, type ConformanceRunOptions } from "./run/conformance-run.ts";
export { EXIT, exitCodeOf, type ExitCode } from "./run/exit-codes.ts";
export { toEnv, fromEnv, PROTOCOL_VARIABLES, PROTOCOL_ALIASES, type RunProtocol } from "./run/run-protocol.ts";
export { runMutation, planMutation, type MutationRunOptions, type MutationOutcome, type MutationRun, type MutantVerdict } from "./mutants/mutation-runner.ts";
export { loadMutants, findMutant, type Mutant } from "./mutants/mutant-catalog.ts";
