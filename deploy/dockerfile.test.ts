import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  parseCopy,
  parseDockerfile,
  parseEnv,
  parseExecForm,
  parseHealthcheck,
  resolveTarget,
} from './dockerfile.js';
import { dockerIgnores } from './replay.js';

const SAMPLE = `# comment
ARG NODE_IMAGE=node:24-slim

FROM \${NODE_IMAGE} AS build
WORKDIR /app
COPY a.json b.json ./
ENV CI=true
RUN pnpm install \\
  # a comment inside a continued line
  && pnpm build

FROM \${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
COPY --from=build /deploy/examples /examples
WORKDIR /app
USER node

FROM runtime AS web
COPY --from=build /deploy/web /app
EXPOSE 4000
HEALTHCHECK --interval=5s --retries=3 CMD ["node", "-e", "process.exit(0)"]
CMD ["node", "dist/main.js"]

FROM runtime AS cli
COPY --from=build /deploy/cli /app
ENTRYPOINT ["node", "bin/cli.js"]
CMD ["--help"]
`;

describe('parseDockerfile', () => {
  const dockerfile = parseDockerfile(SAMPLE);

  it('reads stages, substitutes global ARGs in FROM, joins continued lines', () => {
    expect(dockerfile.args).toEqual({ NODE_IMAGE: 'node:24-slim' });
    expect(dockerfile.stages.map((s) => [s.name, s.base])).toEqual([
      ['build', 'node:24-slim'],
      ['runtime', 'node:24-slim'],
      ['web', 'runtime'],
      ['cli', 'runtime'],
    ]);
    const run = dockerfile.stages[0]?.instructions.find((i) => i.keyword === 'RUN');
    expect(run).toEqual({ keyword: 'RUN', args: 'pnpm install && pnpm build', line: 8 });
  });

  it('resolves a target through its bases: workdir, env, copies, command, healthcheck', () => {
    const web = resolveTarget(dockerfile, 'web');
    expect(web.chain).toEqual(['runtime', 'web']);
    expect(web.workdir).toBe('/app');
    expect(web.env).toEqual({ NODE_ENV: 'production' });
    expect(web.copies).toEqual([
      { from: 'build', sources: ['/deploy/examples'], dest: '/examples' },
      { from: 'build', sources: ['/deploy/web'], dest: '/app' },
    ]);
    expect(web.cmd).toEqual(['node', 'dist/main.js']);
    expect(web.healthcheck).toEqual(['node', '-e', 'process.exit(0)']);
    expect(web.exposed).toEqual([4000]);
    const cli = resolveTarget(dockerfile, 'cli');
    expect([...cli.entrypoint, ...cli.cmd]).toEqual(['node', 'bin/cli.js', '--help']);
  });

  it('refuses what it does not know, naming the line', () => {
    expect(() => parseDockerfile('FROM x AS a\nADD x y\n')).toThrow(
      /Dockerfile:2: ADD is not supported/,
    );
    expect(() => parseDockerfile('RUN true\n')).toThrow(/RUN before FROM/);
    expect(() => resolveTarget(parseDockerfile('FROM x AS a\nCMD node main.js\n'), 'a')).toThrow(
      /exec form/,
    );
    expect(() => resolveTarget(parseDockerfile('FROM x AS a\nCOPY x /y\n'), 'a')).toThrow(
      /only the build stage may/,
    );
  });

  it('parses the repository Dockerfile: every target has a command', () => {
    const repo = parseDockerfile(readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8'));
    for (const stage of repo.stages.filter((s) => !['build', 'runtime'].includes(s.name))) {
      const target = resolveTarget(repo, stage.name);
      expect([...target.entrypoint, ...target.cmd].length, stage.name).toBeGreaterThan(0);
    }
  });
});

describe('instruction arguments', () => {
  it('COPY with and without --from', () => {
    expect(parseCopy('a b ./')).toEqual({ sources: ['a', 'b'], dest: './' });
    expect(parseCopy('--from=build /x /y')).toEqual({ from: 'build', sources: ['/x'], dest: '/y' });
    expect(() => parseCopy('--chown=node x y')).toThrow(/--chown=node is not supported/);
  });

  it('ENV in both forms, quoted values unquoted', () => {
    expect(parseEnv('A=1 B="two words"')).toEqual({ A: '1', B: 'two words' });
    expect(parseEnv('A one two')).toEqual({ A: 'one two' });
  });

  it('HEALTHCHECK options and exec-form command', () => {
    expect(parseHealthcheck('--interval=5s CMD ["node", "x.js"]')).toEqual({
      options: { interval: '5s' },
      command: ['node', 'x.js'],
    });
    expect(() => parseHealthcheck('CMD curl -f http://x')).toThrow(/exec form/);
    expect(() => parseExecForm('[1]')).toThrow(/not an array of strings/);
  });

  it('.dockerignore patterns: a segment anywhere, or a leading path', () => {
    expect(dockerIgnores('**/node_modules', 'packages/a/node_modules/x.js')).toBe(true);
    expect(dockerIgnores('**/dist', 'packages/a/src/distance.ts')).toBe(false);
    expect(dockerIgnores('bench/results', 'bench/results/a.json')).toBe(true);
    expect(dockerIgnores('bench/results', 'bench/resultsx')).toBe(false);
  });
});
