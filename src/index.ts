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
