/** The package managers `create` can install with (a leaf: messages.ts and install.ts both use it). */

/**
 * The package managers `--package-manager` accepts.
 *
 * @example
 * PACKAGE_MANAGERS.includes("pnpm") // true
 */
export const PACKAGE_MANAGERS = ["npm", "pnpm", "yarn"] as const;

/**
 * One of `PACKAGE_MANAGERS`.
 *
 * @example
 * const pm: PackageManager = detectPackageManager();
 */
export type PackageManager = (typeof PACKAGE_MANAGERS)[number];
