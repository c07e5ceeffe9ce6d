// Predict benchmark scores from code with the prediction API (run: node examples/predict.mjs).
import { completeMatrix, DEFAULT_METHOD, getPredictor, loadData, parseNewScores, predictNewModel } from 'collabperf/predict';

// A built-in table by name, or the path of a CSV/TSV/JSON file (wide or long).
const { dataset } = await loadData('crowdsource');
console.log(`${dataset.name}: ${dataset.models.length} models x ${dataset.tasks.length} tasks, ${dataset.scores.value.length} scores`);
const method = getPredictor(DEFAULT_METHOD);

// The missing cells of one model of the table, with 90% conformal prediction intervals.
const row = await completeMatrix(dataset, method, { seed: 0 }, { model: 'Llama 3 8B', level: 0.9 });
console.log(`Llama 3 8B: ${row.cells.length} missing scores predicted with ${row.method}; the first five:`);
for (const c of row.cells.slice(0, 5)) console.log(`  ${c.task.padEnd(26)} ${c.prediction.toFixed(2).padStart(6)}  [${c.lower.toFixed(2)}, ${c.upper.toFixed(2)}]`);

// A model that is not in the table, from two of its scores (task names resolve like the CLI's --new).
const scores = parseNewScores(dataset, 'MMLU=66.6,GSM8K=45.8');
const fresh = await predictNewModel(dataset, method, { seed: 0 }, { scores, name: 'my-model' });
const best = [...fresh.cells].filter((c) => c.given === undefined).sort((a, b) => b.prediction - a.prediction).slice(0, 3);
console.log(`my-model (${fresh.mode}): strongest predicted tasks ${best.map((c) => `${c.task} ${c.prediction.toFixed(1)}`).join(', ')}`);
