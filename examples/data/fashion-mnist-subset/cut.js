#!/usr/bin/env node
// Cuts the bundled Fashion-MNIST subset from the full data set: the first TRAIN_PER_CLASS training
// images of each class and the first TEST_PER_CLASS test images of each class, in file order, written
// as gzipped IDX files with the original names (what gluon.data.vision.FashionMNIST reads).
// Usage: node examples/data/fashion-mnist-subset/cut.js [FULL_DIR]   (default /usr/share/datasets/fashion-mnist)
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const TRAIN_PER_CLASS = Number(process.env.TRAIN_PER_CLASS || 300);
const TEST_PER_CLASS = Number(process.env.TEST_PER_CLASS || 100);
const src = process.argv[2] || '/usr/share/datasets/fashion-mnist';
const dst = __dirname;

function read(name) {
  const raw = path.join(src, name);
  return fs.existsSync(raw) ? fs.readFileSync(raw) : zlib.gunzipSync(fs.readFileSync(raw + '.gz'));
}

function cut(prefix, perClass) {
  const images = read(`${prefix}-images-idx3-ubyte`);
  const labels = read(`${prefix}-labels-idx1-ubyte`);
  const n = labels.readUInt32BE(4);
  const rows = images.readUInt32BE(8), cols = images.readUInt32BE(12), size = rows * cols;
  const taken = new Array(10).fill(0);
  const keep = [];
  for (let i = 0; i < n; i++) {
    const c = labels[8 + i];
    if (taken[c] < perClass) {
      taken[c]++;
      keep.push(i);
    }
  }
  const img = Buffer.alloc(16 + keep.length * size);
  img.writeUInt32BE(0x803, 0);
  img.writeUInt32BE(keep.length, 4);
  img.writeUInt32BE(rows, 8);
  img.writeUInt32BE(cols, 12);
  const lab = Buffer.alloc(8 + keep.length);
  lab.writeUInt32BE(0x801, 0);
  lab.writeUInt32BE(keep.length, 4);
  keep.forEach((i, k) => {
    images.copy(img, 16 + k * size, 16 + i * size, 16 + (i + 1) * size);
    lab[8 + k] = labels[8 + i];
  });
  // mtime 0 in the gzip header, so cutting again gives the same bytes
  const gz = (b) => zlib.gzipSync(b, { level: 9 });
  fs.writeFileSync(path.join(dst, `${prefix}-images-idx3-ubyte.gz`), gz(img));
  fs.writeFileSync(path.join(dst, `${prefix}-labels-idx1-ubyte.gz`), gz(lab));
  console.log(`${prefix}: ${keep.length} of ${n} images (${perClass} per class)`);
}

cut('train', TRAIN_PER_CLASS);
cut('t10k', TEST_PER_CLASS);
