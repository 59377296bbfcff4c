#!/usr/bin/env node
/** `refract`: reads the environment once, runs the command line, exits with its code. */
import { ConfigError, loadCliConfig } from '../config.js';
import { ExitCode } from '../exit-codes.js';
import { runCli } from '../program.js';

// `refract status | head`: a reader that went away is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.ok);
  throw error;
});

let config: ReturnType<typeof loadCliConfig>;
try {
  config = loadCliConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`refract: ${error.message}\n`);
  process.exit(ExitCode.usage);
}
const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  config,
});
// A service command returns 0 once its service runs; the exit code is the
// service's from then on (set by it, e.g. 1 for a bad module), not to be reset.
if (code !== ExitCode.ok) process.exitCode = code;
