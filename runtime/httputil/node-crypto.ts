/** Node's crypto module, loaded when first used rather than with the modules that use it. */

let crypto: typeof import("node:crypto") | undefined;

/**
 * Node's `node:crypto`, loaded on the first call. Loading it costs ~7 ms of CPU (its WebCrypto
 * half included), which a process that only builds an app (`tornado routes`, a test that never
 * signs a cookie) need not pay; `import … from "node:crypto"` would load it with the importer.
 *
 * @example
 * nodeCrypto().randomUUID() // "0b9c…"
 */
export function nodeCrypto(): typeof import("node:crypto") {
  return (crypto ??= process.getBuiltinModule("node:crypto"));
}
