/** The bundled worker's source, embedded into the main bundle at build time (scripts/build.mjs). */
declare module "virtual:hushwire-worker" {
  const source: string;
  export default source;
}
