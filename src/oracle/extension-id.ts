/**
 * Extension id rules of the archive contract (ARC-09, from the Zelos seed): `publisher.name`,
 * dot-separated segments of lowercase letters, digits and hyphens, no empty segment, no segment
 * starting or ending with a hyphen.
 */
export function isValidExtensionId(id: string): boolean {
  const segments = id.split(".");
  return segments.length >= 2 && segments.every((s) => /^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(s));
}

/**
 * The id of a local extension from its folder name: lowercase, every run of characters other than
 * letters and digits becomes one hyphen, hyphens trimmed from both ends, then `local.` in front.
 */
export function localExtensionId(folderName: string): string {
  const slug = folderName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return `local.${slug}`;
}
