/** The web app's bundled worker source, embedded into the app bundle at build time (scripts/build_app.mjs). */
declare module "virtual:hushwire-app-worker" {
  const source: string;
  export default source;
}
