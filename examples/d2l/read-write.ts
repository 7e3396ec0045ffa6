// d2l.ai (MXNet edition) 5.5 "File I/O", syntax-only port. The book writes into the working directory;
// this port writes into a fresh temporary directory and removes it at the end.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gluon, nd, NDArray } from 'ndgrad';
import * as d2l from './d2l';

const { nn } = gluon;

class MLP extends nn.Block {
  hidden = new nn.Dense(256, { activation: 'relu' });
  output = new nn.Dense(10);

  forward(x: NDArray): NDArray {
    return nd.tidy(() => this.output.forward(this.hidden.forward(x)));
  }
}

export function main(argv: string[]): { sameLoaded: boolean; sameClone: boolean } {
  d2l.parseArgs(argv);
  nd.random.seed(0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'd2l-read-write-'));
  const file = (name: string): string => path.join(dir, name);
  try {
    // Loading and saving tensors
    const x = nd.arange(4);
    nd.save(file('x-file'), x);
    const [x2] = nd.load(file('x-file')) as NDArray[];
    console.log(x2.toString());

    const y = nd.zeros([4]);
    nd.save(file('x-files'), [x, y]);
    const [x3, y2] = nd.load(file('x-files')) as NDArray[];
    console.log(x3.toString(), y2.toString());

    const mydict = { x, y };
    nd.save(file('mydict'), mydict);
    const mydict2 = nd.load(file('mydict')) as Record<string, NDArray>;
    console.log(`{'x': ${mydict2.x.toString()}, 'y': ${mydict2.y.toString()}}`);
    const sameLoaded = nd.tidy(() => nd.min(nd.equal(x, mydict2.x)).item() === 1 && nd.min(nd.equal(y, mydict2.y)).item() === 1);

    // Loading and saving model parameters
    const net = new MLP();
    net.initialize();
    const X = nd.random.uniform(0, 1, [2, 20]);
    const Y = net.forward(X);
    net.saveParameters(file('mlp.params'));

    const clone = new MLP();
    clone.loadParameters(file('mlp.params'));
    const YClone = clone.forward(X);
    const sameClone = nd.tidy(() => {
      const eq = nd.equal(YClone, Y);
      console.log(eq.toString());
      return nd.min(eq).item() === 1;
    });

    net.dispose();
    clone.dispose();
    nd.dispose([x, x2, y, x3, y2, mydict2.x, mydict2.y, X, Y, YClone]);
    return { sameLoaded, sameClone };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

d2l.runIfMain(module, main);
