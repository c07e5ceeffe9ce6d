// Factorize a synthetic rating matrix and use the model (run: node examples/factorize.mjs).
import { backendInfo, fit, syntheticRatings } from 'collabperf';

const data = syntheticRatings({ nRows: 20_000, nCols: 5_000, nnz: 1_000_000, seed: 1 });
console.log('backend:', backendInfo().active.name, '-', backendInfo().active.blas);

const { model, history, bestIter } = await fit(data.train, {
  algo: 'als',
  rank: 32,
  iters: 8,
  validation: data.test,
  onProgress: (r) => console.log(`sweep ${r.iter}: ${r.seconds.toFixed(2)} s, train RMSE ${r.trainRmse.toFixed(4)}, test RMSE ${r.validRmse.toFixed(4)}`),
});
console.log(`kept sweep ${bestIter} of ${history.length} (best test RMSE); noise floor ${data.noise}`);
console.log('top 3 columns for row 0:', model.recommend(0, 3).map((x) => `${x.col} (${x.score.toFixed(2)})`).join(', '));
const folded = model.foldIn([0, 1, 2, 3, 4], [4.0, 3.5, 2.0, 4.5, 3.0]);
console.log('new row, predicted column 10:', folded.predict(10).toFixed(3));
