import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CollabperfError } from '../../src/errors.js';
import { FactorModel } from '../../src/factorization/model.js';
import { loadModel, saveModel } from '../../src/factorization/model-file.js';
import { writeFileAtomic } from '../../src/util/atomic-write.js';
import { caught, tempDir, writeIn } from '../helpers/hardening.js';

const dir = tempDir('files');

const training = {
  options: { lambda: 0.1, lambdaBias: 0.1, useBias: true, weightedLambda: false },
  backend: 'ts',
  iterations: 3,
  trainRmse: 0.5,
} as unknown as FactorModel['training'];
const model = new FactorModel(2, 3, 2, 0.25, Float64Array.of(1, 2, 3, 4), Float64Array.of(0.5, -1, 2, 0, 1e-300, 7), Float64Array.of(0.1, 0.2), Float64Array.of(-0.1, 0, 0.3), training);
const path = join(dir, 'm.json');
saveModel(model, path);
const good = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown> & { arrays: Record<string, string> };

function variant(name: string, patch: (j: typeof good) => unknown): string {
  return writeIn(dir, `${name}.json`, JSON.stringify(patch(structuredClone(good))));
}

function b64(values: number[]): string {
  const b = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => b.writeDoubleLE(v, i * 8));
  return b.toString('base64');
}

describe('model files', () => {
  it('round-trips bit for bit and stores a sha256 checksum', () => {
    expect(good.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
    const m = loadModel(path);
    expect(Array.from(m.V)).toEqual(Array.from(model.V));
    expect(m.predict(1, 2)).toBe(model.predict(1, 2));
  });

  it('refuses a tampered array by checksum, naming the field', () => {
    const p = variant('tampered', (j) => {
      j.arrays.U = b64([1, 2, 3, 4.5]);
      return j;
    });
    const e = caught(() => loadModel(p));
    expect(e.code).toBe('E_PARSE');
    expect(e.field).toBe('checksum');
  });

  it('accepts a version-1 file without checksum (older files), still checking the arrays', () => {
    const p = variant('old', (j) => {
      delete j.checksum;
      return j;
    });
    expect(loadModel(p).predict(0, 0)).toBe(model.predict(0, 0));
    const bad = variant('old-nan', (j) => {
      delete j.checksum;
      j.arrays.colBias = b64([0, NaN, 1]);
      return j;
    });
    const e = caught(() => loadModel(bad));
    expect(e.code).toBe('E_NON_FINITE');
    expect(e.field).toBe('arrays.colBias');
  });

  it.each([
    ['short array', (j: typeof good) => ((j.arrays.V = b64([1, 2])), j), 'arrays.V', 'E_PARSE'],
    ['infinite entry', (j: typeof good) => (delete j.checksum, (j.arrays.U = b64([1, Infinity, 3, 4])), j), 'arrays.U', 'E_NON_FINITE'],
    ['array not base64', (j: typeof good) => ((j.arrays.rowBias = '!!!!!!!!!!!!!!!!!!!!!!!!'), j), 'arrays.rowBias', 'E_PARSE'],
    ['unknown encoding', (j: typeof good) => ((j.encoding = 'base64-float16le'), j), 'encoding', 'E_PARSE'],
    ['float32 encoding over float64 bytes', (j: typeof good) => ((j.encoding = 'base64-float32le'), j), 'arrays.U', 'E_PARSE'],
    ['missing training', (j: typeof good) => (delete j.training, j), 'training', 'E_PARSE'],
    ['malformed training.options', (j: typeof good) => ((j.training as { options: unknown }).options = { lambda: 'x' }, j), 'training.options.lambda', 'E_PARSE'],
    ['malformed training.iterations', (j: typeof good) => ((j.training as { iterations: unknown }).iterations = -1, j), 'training.iterations', 'E_PARSE'],
    ['malformed checksum', (j: typeof good) => ((j.checksum = 'md5:00'), j), 'checksum', 'E_PARSE'],
    ['huge nRows', (j: typeof good) => ((j.nRows = 2 ** 40), j), 'nRows', 'E_PARSE'],
  ])('refuses a %s with the field named', (name, patch, field, code) => {
    const e = caught(() => loadModel(variant(name.replace(/\W/g, '-'), patch)));
    expect(e.code).toBe(code);
    expect(e.field).toBe(field);
  });

  it('says that version "1" must be the number 1', () => {
    const e = caught(() => loadModel(variant('v-string', (j) => ((j.version = '1'), j))));
    expect(e.code).toBe('E_VERSION');
    expect(e.field).toBe('version');
    expect(e.message).toMatch(/string "1".*number 1/);
    expect(caught(() => loadModel(variant('v-none', (j) => (delete j.version, j)))).message).toMatch(/version missing/);
  });
});

describe('atomic writes', () => {
  it('keeps the mode of the replaced file (0600 stays 0600) and leaves no temp file', () => {
    const d = mkdtempSync(join(dir, 'mode-'));
    const p = join(d, 'secret.json');
    writeFileSync(p, 'old');
    chmodSync(p, 0o600);
    saveModel(model, p);
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readdirSync(d)).toEqual(['secret.json']);
  });

  it('leaves the old file and no temp file when the content cannot be produced', () => {
    const d = mkdtempSync(join(dir, 'err-'));
    const p = join(d, 'out.txt');
    writeFileSync(p, 'old');
    expect(() =>
      writeFileAtomic(p, (append) => {
        append('partial');
        throw new CollabperfError('E_NON_FINITE', 'boom');
      }),
    ).toThrow(/boom/);
    expect(readFileSync(p, 'utf8')).toBe('old');
    expect(readdirSync(d)).toEqual(['out.txt']);
  });

  it('leaves no temp file when the rename fails', () => {
    const d = mkdtempSync(join(dir, 'ro-'));
    const p = join(d, 'missing-dir', 'out.txt');
    expect(caught(() => writeFileAtomic(p, (a) => a('x'))).code).toBe('E_FILE');
    expect(readdirSync(d)).toEqual([]);
  });

  it('refuses directories, character devices and FIFOs, naming the path', () => {
    const d = mkdtempSync(join(dir, 'kinds-'));
    const sub = join(d, 'sub');
    mkdirSync(sub);
    const e = caught(() => writeFileAtomic(sub, (a) => a('x')));
    expect(e.code).toBe('E_FILE');
    expect(e.file).toBe(sub);
    expect(e.message).toMatch(/directory/);
    expect(caught(() => writeFileAtomic('/dev/null', (a) => a('x'))).message).toMatch(/character device/);
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true);
    const fifo = join(d, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(caught(() => writeFileAtomic(fifo, (a) => a('x'))).message).toMatch(/FIFO/);
    expect(readdirSync(d).sort()).toEqual(['fifo', 'sub']);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('%s while a file is being replaced ends the process and leaves no temp file, and the old or the whole new file', async (signal) => {
    const d = mkdtempSync(join(dir, 'sig-'));
    const target = writeIn(d, 'out.bin', 'old');
    const size = 64 << 20;
    const atomic = fileURLToPath(new URL('../../src/util/atomic-write.ts', import.meta.url));
    // The child lives on for 5 s after the write: a signal it got must end it, not be lost.
    const script = writeIn(d, 'child.mts', `import { writeFileAtomic } from ${JSON.stringify(atomic)};\nconst big = Buffer.alloc(${size}, 97);\nwriteFileAtomic(${JSON.stringify(target)}, (a) => a(big));\nsetTimeout(() => {}, 5000);\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: 'ignore' });
    // signal as soon as the temp file exists, mid-write (or at exit, if the write won the race)
    const poll = setInterval(() => {
      if (readdirSync(d).some((f) => f.startsWith('out.bin.'))) {
        clearInterval(poll);
        child.kill(signal);
      }
    }, 1);
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig })));
    clearInterval(poll);
    expect(exit).toEqual({ code: null, signal });
    expect(readdirSync(d).sort()).toEqual(['child.mts', 'out.bin']);
    expect([3, size]).toContain(statSync(target).size);
  }, 30_000);

  it('follows a symlink: the target is replaced, the link kept; a dangling link is refused', () => {
    const d = mkdtempSync(join(dir, 'link-'));
    const target = join(d, 'v3.json');
    writeFileSync(target, 'old');
    const link = join(d, 'model.json');
    symlinkSync(target, link);
    writeFileAtomic(link, (a) => a('new'));
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('new');
    const dangling = join(d, 'dangling.json');
    symlinkSync(join(d, 'nowhere'), dangling);
    expect(caught(() => writeFileAtomic(dangling, (a) => a('x'))).code).toBe('E_FILE');
    expect(readdirSync(d).sort()).toEqual(['dangling.json', 'model.json', 'v3.json']);
  });
});
