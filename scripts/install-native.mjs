#!/usr/bin/env node
// The package's `install` script: builds the native addon (build/Release/collabperf.node) when this
// machine can, and otherwise leaves the TypeScript backend in charge. It never downloads anything.
//
//   cmake-js (CMakeLists.txt) when cmake is on PATH, else node-gyp (binding.gyp): from
//   npm_config_node_gyp (set by npm for install scripts), `node-gyp` on PATH, or the copy bundled
//   with npm. The Node-API headers come from the node-api-headers package (cmake-js) or from the
//   local Node installation (node-gyp --nodedir); never from the network.
//
// Environment:
//   COLLABPERF_SKIP_NATIVE=1     do not build
//   COLLABPERF_BUILD=cmake|gyp   use only that build system (default: cmake-js, falling back to node-gyp)
//   COLLABPERF_REQUIRE_NATIVE=1  any failure exits 1 and prints the full output
//
// Without COLLABPERF_REQUIRE_NATIVE a missing prerequisite or a failed build prints one line (with
// the path of a log holding the full output) and exits 0.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const env = process.env;
const required = env.COLLABPERF_REQUIRE_NATIVE === '1';
const fallbackNote = 'using the TypeScript backend';
const addonPath = join(root, 'build', 'Release', 'collabperf.node');
const log = [];

function say(line) {
  process.stdout.write(`collabperf: ${line}\n`);
}

/** Ends the script: one line (exit 0), or with COLLABPERF_REQUIRE_NATIVE the full output and exit 1. */
function giveUp(reason, logPath) {
  if (required) {
    if (log.length) process.stderr.write(log.join('\n') + '\n');
    process.stderr.write(`collabperf: native addon not built (${reason}); COLLABPERF_REQUIRE_NATIVE=1 makes this an error\n`);
    process.exit(1);
  }
  say(`native addon not built (${reason}${logPath ? `; full output in ${logPath}` : ''}); ${fallbackNote}`);
  process.exit(0);
}

/** The full path of an executable on PATH, or null. */
function which(name) {
  if (!name) return null;
  if (name.includes('/')) return existsSync(name) ? name : null;
  const exts = process.platform === 'win32' ? (env.PATHEXT || '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (env.PATH || '').split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const p = join(dir, name + ext);
      try {
        if (statSync(p).isFile()) return p;
      } catch {
        // not there
      }
    }
  }
  return null;
}

/** Runs a command, appending everything it prints to the log; true when it exits 0. */
function run(cmd, args, options = {}) {
  log.push(`$ ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, {
    cwd: root,
    env: { ...env, ...(options.env || {}) },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    input: options.input,
  });
  if (r.stdout) log.push(r.stdout.trimEnd());
  if (r.stderr) log.push(r.stderr.trimEnd());
  if (r.error) log.push(String(r.error));
  log.push(`(exit ${r.status ?? r.signal})`);
  return r.status === 0;
}

function writeLog() {
  const text = log.join('\n') + '\n';
  for (const dir of [join(root, 'build'), tmpdir()]) {
    try {
      mkdirSync(dir, { recursive: true });
      const p = join(dir, 'collabperf-native-build.log');
      writeFileSync(p, text);
      return p;
    } catch {
      // try the next place
    }
  }
  return undefined;
}

// ---- prerequisites ---------------------------------------------------------------------------

if (env.COLLABPERF_SKIP_NATIVE === '1') {
  say(`native addon not built (COLLABPERF_SKIP_NATIVE=1); ${fallbackNote}`);
  process.exit(0);
}
const forced = (env.COLLABPERF_BUILD || '').trim().toLowerCase();
if (forced && forced !== 'cmake' && forced !== 'gyp') giveUp(`COLLABPERF_BUILD must be cmake or gyp, not "${forced}"`);

const cxx = [env.CXX, 'c++', 'g++', 'clang++'].map((c) => (c ? which(c.split(' ')[0]) : null)).find(Boolean);
if (!cxx) giveUp('no C++ compiler found; install g++ or clang');

function pkgConfigLibs() {
  if (!which('pkg-config')) return null;
  const r = spawnSync('pkg-config', ['--libs', 'openblas'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split(/\s+/).filter(Boolean) : null;
}

/** Links a tiny program against OpenBLAS (the surest probe for the library and its dev symlink). */
function probeOpenBlas() {
  const dir = mkdtempSync(join(tmpdir(), 'collabperf-probe-'));
  try {
    const src = join(dir, 'probe.cpp');
    writeFileSync(
      src,
      'extern "C" char* openblas_get_config(void);\nextern "C" void dposv_(const char*, const int*, const int*, double*, const int*, double*, const int*, int*);\n' +
        'int main() { int n = 1, one = 1, info = 0; double a = 4, b = 2; dposv_("L", &n, &one, &a, &n, &b, &n, &info);\n' +
        '  return openblas_get_config() != 0 && info == 0 && b == 0.5 ? 0 : 1; }\n',
    );
    const exe = join(dir, 'probe');
    const candidates = [pkgConfigLibs(), ['-lopenblas']].filter(Boolean);
    for (const libs of candidates) {
      if (run(cxx, [src, '-o', exe, ...libs]) && run(exe, [])) return true;
    }
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (!probeOpenBlas()) giveUp('OpenBLAS not found; install libopenblas-dev');

// ---- build systems ---------------------------------------------------------------------------

function cmakeJsCli() {
  try {
    const p = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
    return existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

function nodeGypCli() {
  const fromNpm = env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return { cmd: process.execPath, args: [fromNpm] };
  const onPath = which('node-gyp');
  if (onPath) return { cmd: onPath, args: [] };
  // The copy bundled with npm, next to this Node.
  const prefix = dirname(dirname(process.execPath));
  for (const p of [
    join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(prefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ]) {
    if (existsSync(p)) return { cmd: process.execPath, args: [p] };
  }
  return null;
}

/** A local directory with this Node's headers for node-gyp (so it never downloads them), or null. */
function nodeHeadersDir() {
  if (env.npm_config_nodedir && existsSync(join(env.npm_config_nodedir, 'include', 'node', 'node_api.h')))
    return env.npm_config_nodedir;
  const prefix = dirname(dirname(process.execPath));
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h')) && existsSync(join(prefix, 'include', 'node', 'common.gypi')))
    return prefix;
  // Headers node-gyp downloaded earlier.
  const cache = join(env.XDG_CACHE_HOME || join(env.HOME || tmpdir(), '.cache'), 'node-gyp', process.versions.node);
  if (existsSync(join(cache, 'include', 'node', 'node_api.h'))) return cache;
  return null;
}

function buildWithCmake() {
  const cli = cmakeJsCli();
  if (!which('cmake')) return 'cmake not found';
  if (!cli) return 'cmake-js not installed';
  // A build directory left by node-gyp would confuse CMake.
  if (existsSync(join(root, 'build', 'config.gypi'))) rmSync(join(root, 'build'), { recursive: true, force: true });
  const ok = run(process.execPath, [cli, 'compile', '--parallel', '2'], { env: { CMAKE_BUILD_PARALLEL_LEVEL: '2' } });
  return ok ? null : 'the cmake-js build failed';
}

function buildWithGyp() {
  const gyp = nodeGypCli();
  if (!gyp) return 'node-gyp not found';
  const nodedir = nodeHeadersDir();
  if (!nodedir) return 'no local Node headers for node-gyp (set npm_config_nodedir)';
  // A build directory left by cmake-js: node-gyp rebuild cleans it, but be explicit.
  if (existsSync(join(root, 'build', 'CMakeCache.txt'))) rmSync(join(root, 'build'), { recursive: true, force: true });
  const ok = run(gyp.cmd, [...gyp.args, 'rebuild', `--nodedir=${nodedir}`, '--jobs=2'], {
    env: { npm_config_nodedir: nodedir },
  });
  return ok ? null : 'the node-gyp build failed';
}

/** Loads the fresh addon in a child process (a crash there must not take this script down). */
function loads() {
  const code = `const a = require(${JSON.stringify(addonPath)}); const i = a.info(); if (typeof i.blas !== 'string') process.exit(1); console.log(i.blas + ', ' + i.simd)`;
  log.push('$ load check');
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  if (r.stdout) log.push(r.stdout.trimEnd());
  if (r.stderr) log.push(r.stderr.trimEnd());
  return r.status === 0 ? r.stdout.trim() : null;
}

if (!forced && !which('cmake') && !nodeGypCli()) giveUp('neither cmake nor node-gyp found; install cmake');

const order = forced === 'cmake' ? ['cmake'] : forced === 'gyp' ? ['gyp'] : ['cmake', 'gyp'];
const reasons = [];
for (const system of order) {
  if (!forced && system === 'cmake' && !which('cmake')) {
    reasons.push('cmake not found');
    continue;
  }
  rmSync(addonPath, { force: true });  // never leave a stale addon behind a failed build
  const why = system === 'cmake' ? buildWithCmake() : buildWithGyp();
  if (why) {
    reasons.push(why);
    continue;
  }
  const loaded = existsSync(addonPath) ? loads() : null;
  if (!loaded) {
    reasons.push(`the addon built with ${system === 'cmake' ? 'cmake-js' : 'node-gyp'} does not load`);
    continue;
  }
  writeLog();
  say(`native addon built with ${system === 'cmake' ? 'cmake-js' : 'node-gyp'} (${loaded})`);
  process.exit(0);
}
giveUp(reasons.join('; '), writeLog());
