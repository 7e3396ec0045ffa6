import { nd, autograd, NDArray, NDArrayError } from '../lib';

test('the seed example prints MXNet style', () => {
  const x = nd.array([1, 2, 3, 4]);
  x.attachGrad();
  const y = autograd.record(() => x.mul(x).add(1));
  y.backward();
  expect(x.grad!.toString()).toBe('[2. 4. 6. 8.]\n<NDArray 4 @cpu(0)>');
});
