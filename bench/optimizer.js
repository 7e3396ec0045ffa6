#!/usr/bin/env node
// The fused Adam step on a 10M-parameter model (issue 10's optimizer benchmark): seconds per step,
// and bytes moved per second (read w, g, mean, var; write w, mean, var: 28 bytes a float32
// parameter) against this machine's copy bandwidth, measured here on the same sizes (a native
// copy reads and writes each byte once). Goal: bytes / time within 1.5x of the copy bandwidth.
// Usage: node bench/optimizer.js [--quick] [--params N]     (needs dist/: npm run build:ts)
'use strict';
const { nd, optimizer } = require('../dist');

const quick = process.argv.includes('--quick');
const pi = process.argv.indexOf('--params');
const total = pi > 0 ? Number(process.argv[pi + 1]) : quick ? 1e6 : 1e7;
const rounds = quick ? 5 : 20;

// A model-like mix: two large weight matrices, a few mid-sized ones, many small biases.
function sizes(n) {
  const s = [Math.floor(n * 0.4), Math.floor(n * 0.3), Math.floor(n * 0.1), Math.floor(n * 0.1)];
  for (let i = 0; i < 50; i++) s.push(Math.floor((n * 0.1) / 50));
  return s;
}

function median(xs) {
  xs.sort((a, b) => a - b);
  return xs[xs.length >> 1];
}
const now = () => Number(process.hrtime.bigint()) / 1e9;

const shapes = sizes(total);
const n = shapes.reduce((a, b) => a + b, 0);
const ws = shapes.map((k) => nd.random.uniform(-1, 1, [k]));
const gs = shapes.map((k) => nd.random.uniform(-1, 1, [k]));
const opt = new optimizer.Adam({ learningRate: 1e-3 });
const states = ws.map((w, i) => opt.createState(i, w));
const idx = ws.map((_w, i) => i);
const step = () => opt.update(idx, ws, gs, states);

step(); // warm-up: first touch of the states' pages
const tStep = median(Array.from({ length: rounds }, () => {
  const t0 = now();
  step();
  return now() - t0;
}));

// Copy bandwidth: memcpy (TypedArray.set, one thread) between buffers of the same sizes, read +
// write; and ndgrad's x * 1 into preallocated arrays (an elementwise op of the same shape).
const src = shapes.map((k) => new Float32Array(k).fill(1)), dstBuf = shapes.map((k) => new Float32Array(k));
const memcpyAll = () => src.forEach((a, i) => dstBuf[i].set(a));
memcpyAll();
const tMemcpy = median(Array.from({ length: rounds }, () => {
  const t0 = now();
  memcpyAll();
  return now() - t0;
}));
const dst = shapes.map((k) => nd.zeros([k]));
const copyAll = () => ws.forEach((w, i) => nd.multiply(w, 1, { out: dst[i] }));
copyAll();
const tCopy = median(Array.from({ length: rounds }, () => {
  const t0 = now();
  copyAll();
  return now() - t0;
}));

const adamBytes = n * 28, copyBytes = n * 8;
const adamBw = adamBytes / tStep / 1e9, copyBw = Math.max(copyBytes / tCopy, copyBytes / tMemcpy) / 1e9;
console.log(`Adam step, ${n.toExponential(2)} float32 parameters in ${shapes.length} arrays, ${nd.backend().threads ?? '?'} threads`);
console.log(`  fused step      ${(tStep * 1e3).toFixed(2)} ms   ${adamBw.toFixed(2)} GB/s moved`);
console.log(`  memcpy          ${(copyBytes / tMemcpy / 1e9).toFixed(2)} GB/s (one thread)`);
console.log(`  x * 1 -> out    ${(copyBytes / tCopy / 1e9).toFixed(2)} GB/s`);
console.log(`  copy bandwidth  ${copyBw.toFixed(2)} GB/s (the faster of the two)`);
console.log(`  ratio copy / Adam bandwidth: ${(copyBw / adamBw).toFixed(2)} (goal <= 1.5)`);
nd.dispose([ws, gs, states, dst]);
