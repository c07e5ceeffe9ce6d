/**
 * Finite-difference check of every hand-written gradient of the NCF network library: each layer on
 * its own (factor encoder, dense ReLU layer, MSE loss) and the whole network in each of its shapes
 * (ID embeddings with and without output biases, factor embeddings concatenated or summed, factors
 * only), so the output layer, the GMF product and the embedding tables are covered too. Central
 * differences in float64; a coordinate passes with a relative error below 1e-5.
 */
import { describe, expect, it } from 'vitest';
import {
  denseReluBackward,
  denseReluForward,
  encoderBackward,
  encoderForward,
  mseLossGrad,
  Net,
  type DenseLayer,
  type Encoder,
  type NetSpec,
  type SideInputs,
} from '../../../src/app/predictors/ncf/nn.js';
import { Rng } from '../../../src/numeric/rng.js';

const H = 1e-6;
const REL = 1e-5;

/**
 * Compares an analytic gradient with central differences of `loss` in each coordinate of `x`
 * (restored after). A coordinate whose gradients are both below 1e-7 in size must agree to 1e-10
 * absolutely (a relative error means nothing there). Returns how many coordinates had a gradient
 * of real size, so a test can insist that it checked something.
 */
function checkGradient(x: Float64Array, analytic: ArrayLike<number>, loss: () => number, what: string, only?: (i: number) => boolean): number {
  let sized = 0;
  for (let i = 0; i < x.length; i++) {
    if (only && !only(i)) continue;
    const keep = x[i];
    x[i] = keep + H;
    const up = loss();
    x[i] = keep - H;
    const down = loss();
    x[i] = keep;
    const numeric = (up - down) / (2 * H);
    const a = analytic[i];
    const scale = Math.max(Math.abs(a), Math.abs(numeric));
    if (scale < 1e-7) {
      expect(Math.abs(a - numeric), `${what}[${i}]: analytic ${a}, numeric ${numeric}`).toBeLessThan(1e-10);
      continue;
    }
    sized++;
    expect(Math.abs(a - numeric) / scale, `${what}[${i}]: analytic ${a}, numeric ${numeric}`).toBeLessThan(REL);
  }
  return sized;
}

function uniform(rng: Rng, n: number, std = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.nextDouble() * 2 - 1) * std * 1.7;
  return out;
}

describe('dense ReLU layer', () => {
  for (const reluInput of [false, true]) {
    it(`backward matches central differences for W, b and the input (reluInput ${reluInput})`, () => {
      const rng = new Rng(11, reluInput ? 1 : 0);
      const n = 3;
      const l: DenseLayer = { w: 0, b: 20, nin: 5, nout: 4 };
      const p = uniform(rng, 24);
      const a = uniform(rng, n * l.nin);
      // zero inputs take the skip paths of both passes
      a[1] = 0;
      a[7] = 0;
      const c = uniform(rng, n * l.nout);
      const z = new Float64Array(n * l.nout);
      const loss = (): number => {
        denseReluForward(p, l, a, z, n);
        let s = 0;
        for (let i = 0; i < z.length; i++) s += c[i] * z[i];
        return s;
      };
      loss();
      let active = 0;
      for (const v of z) if (v > 0) active++;
      expect(active, 'some units active, some not').toBeGreaterThan(0);
      expect(active).toBeLessThan(z.length);
      const g = new Float64Array(p.length);
      const dz = Float64Array.from(c);
      const da = new Float64Array(a.length);
      denseReluBackward(p, g, l, a, z, dz, da, n, reluInput);
      expect(checkGradient(p, g, loss, 'params')).toBeGreaterThan(10);
      if (reluInput) {
        // a zero input is a ReLU that is off: its gradient is 0 by definition, the rest is exact
        expect(da[1]).toBe(0);
        expect(da[7]).toBe(0);
        expect(checkGradient(a, da, loss, 'input', (i) => a[i] !== 0)).toBeGreaterThan(5);
      } else {
        expect(checkGradient(a, da, loss, 'input')).toBeGreaterThan(5);
      }
    });
  }
});

describe('factor encoder', () => {
  it('backward matches central differences for the numeric weights, bias and categorical embeddings', () => {
    const rng = new Rng(12, 0);
    const side: SideInputs = {
      rows: 3,
      p: 3,
      x: Float64Array.from([0.5, 0, -1.2, 1.1, 0.3, 0, -0.7, 2, 0.4]),
      cats: [
        { levels: 2, index: Int32Array.from([0, 1, 1]) },
        { levels: 3, index: Int32Array.from([2, 0, 1]) },
      ],
    };
    const dim = 4;
    const e: Encoder = { side, dim, w: 0, b: 12, c: [16, 24] };
    const p = uniform(rng, 36);
    const c = uniform(rng, dim);
    for (const add of [false, true]) {
      for (let row = 0; row < side.rows; row++) {
        const base = uniform(rng, dim);
        const v = new Float64Array(dim);
        const loss = (): number => {
          v.set(add ? base : new Float64Array(dim));
          encoderForward(p, e, row, v, 0, add);
          let s = 0;
          for (let k = 0; k < dim; k++) s += c[k] * v[k];
          return s;
        };
        const g = new Float64Array(p.length);
        encoderBackward(g, e, row, c, 0);
        expect(checkGradient(p, g, loss, `row ${row} add ${add}`)).toBeGreaterThan(10);
      }
    }
  });
});

describe('MSE loss', () => {
  it('dLoss/dyhat matches central differences', () => {
    const rng = new Rng(13, 0);
    const n = 5;
    const yhat = uniform(rng, n);
    const y = uniform(rng, 8);
    const ids = Int32Array.from([7, 2, 0, 5, 3, 1]);
    const dy = new Float64Array(n);
    const loss = (): number => mseLossGrad(yhat, y, ids, 1, n, new Float64Array(n));
    mseLossGrad(yhat, y, ids, 1, n, dy);
    expect(checkGradient(yhat, dy, loss, 'yhat')).toBe(n);
  });
});

/** Factor inputs of `rows` rows with 2 numeric columns (some zero) and one categorical factor. */
function side(rng: Rng, rows: number): SideInputs {
  const x = uniform(rng, rows * 2);
  x[1] = 0;
  return { rows, p: 2, x, cats: [{ levels: 3, index: Int32Array.from({ length: rows }, (_, i) => i % 3) }] };
}

describe('NCF network', () => {
  const shapes: Array<[string, (s: NetSpec) => NetSpec]> = [
    ['ncf: ID embeddings', (s) => s],
    ['ncf with output biases', (s) => ({ ...s, idBiases: true })],
    ['ncf-factors, factor embeddings concatenated', (s) => ({ ...s, modelSide: side(new Rng(2, 0), s.nModels), taskSide: side(new Rng(2, 1), s.nTasks) })],
    ['ncf-factors, factor embeddings summed', (s) => ({ ...s, modelSide: side(new Rng(3, 0), s.nModels), taskSide: side(new Rng(3, 1), s.nTasks), sumFactors: true })],
    ['factors-only', (s) => ({ ...s, useIds: false, factorGmf: true, modelSide: side(new Rng(4, 0), s.nModels), taskSide: side(new Rng(4, 1), s.nTasks) })],
  ];
  for (const [name, shape] of shapes) {
    it(`${name}: every parameter's gradient of the MSE matches central differences`, () => {
      const spec = shape({ nModels: 4, nTasks: 3, useIds: true, modelSide: null, taskSide: null, factorGmf: false, idBiases: false, d: 3, dm: 4, sumFactors: false, hidden: [5, 4] });
      const net = new Net(spec, new Rng(21, 0));
      const rng = new Rng(22, 0);
      // biases start at 0; random ones keep every unit away from its kink and make their gradients non-trivial
      for (let i = net.sparseEnd; i < net.params.length; i++) if (!net.decay[i]) net.params[i] = (rng.nextDouble() - 0.5) * 0.2;
      if (net.biasTables) for (const t of Object.values(net.biasTables)) for (let r = 0; r < t.rows; r++) net.params[t.off + r] = rng.nextDouble() - 0.5;
      const models = Int32Array.from([0, 1, 2, 3, 1, 0]);
      const tasks = Int32Array.from([0, 1, 2, 0, 2, 1]);
      const y = uniform(rng, models.length);
      const ids = Int32Array.from(models, (_, i) => i);
      const n = ids.length;
      const dy = new Float64Array(n);
      const loss = (): number => mseLossGrad(net.forward(models, tasks, ids, 0, n), y, ids, 0, n, new Float64Array(n));
      mseLossGrad(net.forward(models, tasks, ids, 0, n), y, ids, 0, n, dy);
      net.backward(models, tasks, ids, 0, n, dy);
      const analytic = Float64Array.from(net.grads);
      const sized = checkGradient(net.params, analytic, loss, name);
      // most parameters reach the loss; the check must not pass by comparing zeros
      expect(sized).toBeGreaterThan(net.params.length / 2);
    });
  }
});
