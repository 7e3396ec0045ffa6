// examples/server (issue 11): the service trains in the background and answers /status and /predict
// from the live model while it does; it starts on a free port and stops cleanly.
import { nd } from '../lib';
import { settledLiveMemory } from './helpers';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startServer } = require('../examples/server/server.js');

interface Server {
  port: number;
  state: { steps: number; loss: number; samplesPerSecond: number; engine: string; data: string };
  close(): Promise<void>;
}

let server: Server;
let before: { numArrays: number; numBytes: number };
let closed = false;
const url = (p: string) => `http://127.0.0.1:${server.port}${p}`;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = async (res: Response): Promise<any> => res.json();

beforeAll(async () => {
  before = await settledLiveMemory();
  server = await startServer({ port: 0, steps: 100000 }); // close() ends it long before
});

test('GET /status reports the training: steps rising, a finite loss, samples/s and the engine', async () => {
  const first = await json(await fetch(url('/status')));
  let second = first;
  // steps go on while requests are answered (poll: a loaded machine may take a while per step)
  for (let i = 0; i < 100 && second.steps <= first.steps; i++) {
    await new Promise((r) => setTimeout(r, 100));
    second = await json(await fetch(url('/status')));
  }
  expect(second.steps).toBeGreaterThan(first.steps);
  expect(Number.isFinite(second.loss)).toBe(true);
  expect(second.samplesPerSecond).toBeGreaterThan(0);
  expect(second.engine).toBe(nd.backend().engine);
  expect(typeof second.data).toBe('string');
});

test('POST /predict answers class probabilities for one image and for several, while training goes on', async () => {
  const one = await fetch(url('/predict'), { method: 'POST', body: JSON.stringify({ pixels: new Array(784).fill(0.2) }) });
  expect(one.status).toBe(200);
  const r = await json(one);
  expect(r.probabilities).toHaveLength(1);
  expect(r.probabilities[0]).toHaveLength(10);
  expect(r.probabilities[0].reduce((s: number, p: number) => s + p, 0)).toBeCloseTo(1, 4);
  expect(r.classes[0]).toBe(r.probabilities[0].indexOf(Math.max(...r.probabilities[0])));
  const images = [new Array(784).fill(0), new Array(784).fill(1), Array.from({ length: 784 }, (_, k) => (k % 28) / 28)];
  const many = await json(await fetch(url('/predict'), { method: 'POST', body: JSON.stringify({ pixels: images }) }));
  expect(many.probabilities).toHaveLength(3);
  expect(many.classes).toHaveLength(3);
});

test('bad requests get 400 or 404 with an error, and the service keeps running', async () => {
  for (const body of ['not json', JSON.stringify({ pixels: [1, 2, 3] }), JSON.stringify({ pixels: new Array(784).fill('x') })]) {
    const res = await fetch(url('/predict'), { method: 'POST', body });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toEqual(expect.any(String));
  }
  expect((await fetch(url('/nowhere'))).status).toBe(404);
  expect((await fetch(url('/status'))).status).toBe(200);
});

afterAll(async () => {
  if (!closed) await server.close();
});

test('close() stops training and serving and frees the model and the data', async () => {
  await server.close();
  closed = true;
  const steps = server.state.steps;
  await expect(fetch(url('/status'))).rejects.toThrow();
  await new Promise((r) => setTimeout(r, 50));
  expect(server.state.steps).toBe(steps);
  nd.waitAll();
  expect(await settledLiveMemory()).toEqual(before);
});
