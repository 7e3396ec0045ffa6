// ESM entry ("import" in package.json exports): re-exports the CommonJS build, so `import` and
// `require` share one module instance and one native addon. build:ts copies this file to dist/.
export * from './index.js';
export { default } from './index.js';
