/** The bundled worker's source, embedded into the main bundle at build time (scripts/build.mjs). */
declare module "virtual:hushwire-worker" {
  const source: string;
  export default source;
}

/** The SRI hash (sha384-...) of each module file, by name, computed at build time (scripts/build.mjs). */
declare module "virtual:hushwire-modules" {
  const hashes: Readonly<Record<string, string>>;
  export default hashes;
}
