#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// A reader that stops early (`collabperf predict | head`) closes the pipe: that ends the output,
// it is not an error of the command. Any other write error still surfaces.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

main(process.argv).then((code) => {
  process.exitCode = code;
});
