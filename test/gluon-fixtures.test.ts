// gluon.nn layers and gluon.loss against PyTorch in float64 (test/fixtures/gluon.json, generated
// by test/fixtures/make_gluon_fixtures.py): output, input gradients and parameter gradients; for
// BatchNorm in training, the running statistics after the step by MXNet's formula (biased variance).
import * as fs from 'fs';
import * as path from 'path';
import { autograd, gluon, nd, NDArray } from '../lib';
import { liveMemory } from './helpers';

interface Enc {
  shape: number[];
  data: number[];
}
interface Case {
  kind: string;
  ctor: [any[], any];
  train: boolean;
  inputs: Record<string, Enc>;
  params: Record<string, Enc>;
  out: Enc;
  head: Enc;
  grads: Record<string, Enc>;
  after?: Record<string, Enc>;
  noGrad?: string[];
}
const FIX = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'gluon.json'), 'utf8')) as { layers: Case[]; losses: Case[] };

const f64 = (e: Enc): NDArray => nd.array(new Float64Array(e.data), { dtype: 'float64' }).reshape(e.shape);

function expectClose(a: NDArray, e: Enc, what: string, tol = 1e-10): void {
  expect([what, a.shape]).toEqual([what, e.shape]);
  const got = a.toTypedArray();
  let worst = 0;
  e.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(got[i] - v) / (1 + Math.abs(v)))));
  if (!(worst < tol)) throw new Error(`${what}: worst relative error ${worst}`);
}

/** Runs one case: forward (recorded), backward with the head gradient, every comparison. */
function run(c: Case, make: () => gluon.Block): void {
  const before = liveMemory();
  const block = make();
  nd.tidy(() => {
    block.cast('float64');
    const params = block.collectParams();
    for (const [name, e] of Object.entries(c.params)) params.get(name).setData(f64(e));
    for (const n of c.noGrad ?? []) expect(params.get(n).gradReq).toBe('null');
    const xs = Object.entries(c.inputs).map(([k, e]) => {
      const x = f64(e);
      if (c.grads[k]) x.attachGrad();
      return x;
    });
    const y = autograd.record(() => block.forward(...xs), { trainMode: c.train }) as NDArray;
    expectClose(y, c.out, `${c.kind} output`);
    y.backward(f64(c.head));
    Object.keys(c.inputs).forEach((k, i) => c.grads[k] && expectClose(xs[i].grad as NDArray, c.grads[k], `${c.kind} d/d${k}`));
    for (const name of Object.keys(c.params))
      if (!(c.noGrad ?? []).includes(name)) expectClose(params.get(name).grad(), c.grads[name], `${c.kind} d/d${name}`);
    for (const [name, e] of Object.entries(c.after ?? {})) expectClose(params.get(name).data(), e, `${c.kind} ${name} after the step`);
  });
  block.dispose();
  expect(liveMemory()).toEqual(before);
}

const label = (c: Case): string => `${c.kind}(${c.ctor[0].map((a) => JSON.stringify(a)).join(', ')}${Object.keys(c.ctor[1]).length ? ', ' + JSON.stringify(c.ctor[1]) : ''})${c.train ? ' training' : ''}`;

describe('gluon.nn layers match PyTorch (float64)', () => {
  test.each(FIX.layers.map((c) => [label(c), c] as [string, Case]))('%s', (_name, c) => {
    run(c, () => new (gluon.nn as any)[c.kind](...c.ctor[0], ...(Object.keys(c.ctor[1]).length ? [c.ctor[1]] : [])));
  });
});

describe('gluon.loss matches PyTorch (float64)', () => {
  test.each(FIX.losses.map((c) => [label(c), c] as [string, Case]))('%s', (_name, c) => {
    run(c, () => new (gluon.loss as any)[c.kind](c.ctor[1]));
  });
});

test('the fixtures cover every layer and loss of gcore', () => {
  const kinds = new Set([...FIX.layers, ...FIX.losses].map((c) => c.kind));
  for (const k of ['Dense', 'Conv1D', 'Conv2D', 'MaxPool1D', 'MaxPool2D', 'AvgPool1D', 'AvgPool2D', 'GlobalMaxPool2D', 'GlobalAvgPool2D',
    'Flatten', 'BatchNorm', 'LayerNorm', 'Embedding', 'Activation', 'LeakyReLU', 'ELU', 'GELU', 'Swish', 'L2Loss', 'L1Loss',
    'SoftmaxCrossEntropyLoss', 'SigmoidBinaryCrossEntropyLoss', 'HuberLoss', 'HingeLoss', 'KLDivLoss'])
    expect([k, kinds.has(k)]).toEqual([k, true]);
});
