import type { PlatformInfo } from "../platform/platforms.ts";
import type { ImageRecipe } from "./image-recipe.ts";

/** Progress of a long step, one line at a time. */
export type ProgressSink = (line: string) => void;

/** Builds one base image for one platform and stores it in the engine under `tag`. */
export interface ImageBuilder {
  readonly kind: ImageRecipe["kind"];
  build(request: { recipe: ImageRecipe; platform: PlatformInfo; tag: string; labels: Record<string, string>; progress: ProgressSink; signal?: AbortSignal }): Promise<void>;
}
