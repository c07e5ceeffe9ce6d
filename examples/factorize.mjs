// Factorize a rating matrix, then predict, recommend, fold in a new row, save and load the model
// (run: node examples/factorize.mjs).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendInfo, fit, loadModel, saveModel, syntheticRatings } from 'collabperf/factorization';

const data = syntheticRatings({ nRows: 10_000, nCols: 2_000, nnz: 400_000, seed: 1 });
const { active } = backendInfo();
console.log(`backend: ${active.name} (${active.blas})`);

const { model, history, bestIter } = await fit(data.train, {
  algo: 'als',
  rank: 32,
  iters: 8,
  validation: data.test,
  onProgress: (r) => console.log(`sweep ${r.iter}: ${r.seconds.toFixed(2)} s, train RMSE ${r.trainRmse.toFixed(4)}, test RMSE ${r.validRmse.toFixed(4)}`),
});
console.log(`kept sweep ${bestIter} of ${history.length} (best test RMSE); noise floor ${data.noise}`);
console.log(`row 0, column 10: predicted ${model.predict(0, 10).toFixed(3)}`);
// recommend leaves out the columns the row was trained on, as recommender libraries do.
console.log('top 3 new columns for row 0:', model.recommend(0, 3).map((x) => `${x.col} (${x.score.toFixed(2)})`).join(', '));
const folded = model.foldIn([0, 1, 2, 3, 4], [4.0, 3.5, 2.0, 4.5, 3.0]);
console.log(`a new row from 5 ratings, without refitting: column 10 predicted ${folded.predict(10).toFixed(3)}`);

const dir = mkdtempSync(join(tmpdir(), 'collabperf-example-'));
try {
  const file = join(dir, 'model.json');
  saveModel(model, file);
  const loaded = loadModel(file);
  const same = loaded.predict(0, 10) === model.predict(0, 10);
  console.log(`saved (${(statSync(file).size / 1e6).toFixed(1)} MB) and loaded: row 0, column 10 predicted ${loaded.predict(0, 10).toFixed(3)}, ${same ? 'identical' : 'DIFFERENT'}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
