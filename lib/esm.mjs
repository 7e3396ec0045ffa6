// ESM entry ("import" in package.json exports): re-exports the CommonJS build, so `import` and
// `require` share one module instance and one native addon. build:ts copies this file to
// dist/index.mjs (it is not lib/index.mjs, which resolvers such as jest's would prefer to index.ts).
export * from './index.js';
export { default } from './index.js';
