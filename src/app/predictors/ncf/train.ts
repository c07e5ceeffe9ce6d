/**
 * Training of one NCF network: seeded shuffled mini-batches, MSE loss, AdamW with row-sparse updates
 * of the ID embeddings, optional weight averaging, and early stopping on an inner validation split
 * (the best epoch's weights are kept). Yields to the event loop every {@link YIELD_MS} ms so that a
 * long fit stays cancellable.
 */
import { CollabperfError } from '../../../errors.js';
import { Rng } from '../../../numeric/rng.js';
import type { CellArrays } from '../../data/observed-cells.js';
import { addSquaredErrors, mseLossGrad, Net, type NetSpec } from './nn.js';

/**
 * Training cells of the network: the model and task of each observed cell with its normalised
 * target `y` in place of the raw score.
 */
export interface TrainCells extends Pick<CellArrays, 'model' | 'task'> {
  /** Normalised target. */
  y: Float64Array;
}

/** The hyperparameters {@link train} uses. */
export interface TrainOptions {
  learningRate: number;
  /** AdamW decoupled weight decay of the dense weights (not biases). */
  weightDecay: number;
  /** AdamW decoupled weight decay of the ID embedding rows of each batch. */
  embeddingDecay: number;
  batchSize: number;
  /** Stop when the validation loss has not improved for this many epochs. */
  patience: number;
  /** Factor of the per-epoch exponential moving average of the weights (0 = off). */
  averaging: number;
}

/** A trained network. */
export interface TrainResult {
  net: Net;
  /** Epochs run (best epoch with validation). */
  epochs: number;
  /** Best validation MSE (normalised), NaN without validation. */
  valMse: number;
}

/** AdamW (β1 0.9, β2 0.999, ε 1e-8, decoupled weight decay) over a {@link Net}'s parameters. */
export class AdamW {
  private readonly m1: Float64Array;
  private readonly m2: Float64Array;
  private steps = 0;

  constructor(private readonly net: Net) {
    this.m1 = new Float64Array(net.params.length);
    this.m2 = new Float64Array(net.params.length);
  }

  /**
   * One AdamW step: dense part fully (decay `wd`, not on biases), ID tables on touched rows only
   * (decay `wdEmb`); clears the gradients.
   */
  step(lr: number, wd: number, wdEmb: number): void {
    this.steps++;
    const b1 = 0.9;
    const b2 = 0.999;
    const eps = 1e-8;
    const c1 = 1 - Math.pow(b1, this.steps);
    const c2 = 1 - Math.pow(b2, this.steps);
    const net = this.net;
    const p = net.params;
    const g = net.grads;
    const m1 = this.m1;
    const m2 = this.m2;
    const dec = net.decay;
    const upd = (i: number, wd: number) => {
      const gi = g[i];
      m1[i] = b1 * m1[i] + (1 - b1) * gi;
      m2[i] = b2 * m2[i] + (1 - b2) * gi * gi;
      const mh = m1[i] / c1;
      const vh = m2[i] / c2;
      p[i] -= lr * (mh / (Math.sqrt(vh) + eps) + (dec[i] ? wd * p[i] : 0));
      g[i] = 0;
    };
    for (const group of [net.tables, net.biasTables]) {
      if (!group) continue;
      for (const t of Object.values(group)) {
        for (let r = 0; r < t.nTouched; r++) {
          const row = t.touched[r];
          t.mark[row] = 0;
          const o = t.off + row * t.dim;
          for (let k = 0; k < t.dim; k++) upd(o + k, wdEmb);
        }
        t.nTouched = 0;
      }
    }
    for (let i = net.sparseEnd; i < p.length; i++) upd(i, wd);
  }
}

/** Longest stretch of work between yields to the event loop, milliseconds. */
export const YIELD_MS = 40;

/** Throws `E_ABORTED` when the signal has fired; yields to the event loop when `YIELD_MS` have passed. */
export async function pause(signal: AbortSignal | undefined, clock: { last: number }): Promise<void> {
  if (signal?.aborted) throw new CollabperfError('E_ABORTED', 'fit was aborted', {}, { cause: signal.reason });
  const now = Date.now();
  if (now - clock.last >= YIELD_MS) {
    await new Promise<void>((r) => setImmediate(r));
    clock.last = Date.now();
    if (signal?.aborted) throw new CollabperfError('E_ABORTED', 'fit was aborted', {}, { cause: signal.reason });
  }
}

/** Mean squared error of the net on cells `ids`. */
export function evalMse(net: Net, cells: TrainCells, ids: Int32Array): number {
  let s = 0;
  const B = 512;
  for (let from = 0; from < ids.length; from += B) {
    const to = Math.min(ids.length, from + B);
    const yh = net.forward(cells.model, cells.task, ids, from, to);
    s = addSquaredErrors(s, yh, cells.y, ids, from, to - from);
  }
  return s / Math.max(1, ids.length);
}

/**
 * Trains a network of shape `spec` (weights drawn from `Rng(seed, 0)`) on `trainIds` for at most
 * `epochs` epochs, each shuffled by `Rng(seed, shuffleStream + epoch)`. With `valIds`, stops after
 * `patience` epochs without a better validation MSE and returns the best epoch's weights.
 */
export async function train(
  spec: NetSpec,
  cells: TrainCells,
  trainIds: Int32Array,
  valIds: Int32Array | null,
  epochs: number,
  o: TrainOptions,
  seed: number,
  shuffleStream: number,
  signal: AbortSignal | undefined,
  clock: { last: number },
): Promise<TrainResult> {
  const net = new Net(spec, new Rng(seed, 0));
  const opt = new AdamW(net);
  // start the output bias at the mean target
  let mean = 0;
  for (const c of trainIds) mean += cells.y[c];
  net.params[net.outB] = trainIds.length ? mean / trainIds.length : 0;

  const order = Int32Array.from(trainIds);
  const dy = new Float64Array(o.batchSize);
  let best = Infinity;
  let bestEpoch = 0;
  let bestParams: Float64Array | null = null;
  const beta = o.averaging;
  const ema = beta > 0 ? new Float64Array(net.params.length) : null;
  const live = beta > 0 ? new Float64Array(net.params.length) : null;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    await pause(signal, clock);
    new Rng(seed, shuffleStream + epoch).shuffle(order);
    for (let from = 0; from < order.length; from += o.batchSize) {
      const to = Math.min(order.length, from + o.batchSize);
      const n = to - from;
      const yh = net.forward(cells.model, cells.task, order, from, to);
      mseLossGrad(yh, cells.y, order, from, n, dy);
      net.backward(cells.model, cells.task, order, from, to, dy);
      opt.step(o.learningRate, o.weightDecay, o.embeddingDecay);
    }
    if (ema && live) {
      // exponential moving average of the weights, once per epoch; evaluated and kept instead of them
      const p = net.params;
      if (epoch === 1) ema.set(p);
      else for (let i = 0; i < p.length; i++) ema[i] = beta * ema[i] + (1 - beta) * p[i];
    }
    if (valIds) {
      if (ema && live) {
        live.set(net.params);
        net.params.set(ema);
      }
      const v = evalMse(net, cells, valIds);
      if (v < best) {
        best = v;
        bestEpoch = epoch;
        bestParams = Float64Array.from(net.params);
      }
      if (ema && live) net.params.set(live);
      if (epoch - bestEpoch >= o.patience) break;
    }
  }
  if (valIds && bestParams) {
    net.params.set(bestParams);
    return { net, epochs: bestEpoch, valMse: best };
  }
  if (ema) net.params.set(ema);
  return { net, epochs, valMse: NaN };
}
