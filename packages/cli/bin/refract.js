#!/usr/bin/env node
// The installed `refract` runs the compiled CLI. This file is plain
// JavaScript and committed, so pnpm can link the bin before `pnpm build`
// has produced dist/ (it warns on a bin whose file is missing).
try {
  await import('../dist/bin/refract.js');
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('refract.js')) {
    process.stderr.write(
      'refract: not built yet: run `pnpm build`, or `pnpm refract` from the repository root\n',
    );
    process.exit(2);
  }
  throw error;
}
