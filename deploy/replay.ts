/**
 * Replays the Dockerfile outside Docker: the build stage's COPY, ENV and RUN
 * lines in a temporary folder that stands for the image's root, then each
 * target's CMD with its WORKDIR and ENV mapped onto the folders its
 * `COPY --from=build` lines name. What the image would hold is what runs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import {
  type Dockerfile,
  parseCopy,
  parseEnv,
  resolveTarget,
  stageNamed,
  type TargetConfig,
} from './dockerfile.js';

export interface ReplayStep {
  instruction: string;
  ms: number;
}

export interface BuildReplay {
  /** The folder that stands for the build stage's `/`. */
  root: string;
  steps: ReplayStep[];
}

/**
 * The build context as `docker build .` sends it: the checkout's files
 * (tracked, and new ones git does not ignore) less `.dockerignore`'s.
 */
export function contextFiles(repoRoot: string): string[] {
  const listed = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', '-z'],
    {
      cwd: repoRoot,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    },
  );
  const ignore = existsSync(join(repoRoot, '.dockerignore'))
    ? readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'))
    : [];
  return listed
    .split('\0')
    .filter((file) => file !== '' && existsSync(join(repoRoot, file)))
    .filter((file) => !ignore.some((pattern) => dockerIgnores(pattern, file)));
}

/** The two forms .dockerignore uses here: `**\/name` (a segment anywhere) and a leading path. */
export function dockerIgnores(pattern: string, file: string): boolean {
  if (pattern.startsWith('**/')) return file.split('/').includes(pattern.slice(3));
  return file === pattern || file.startsWith(`${pattern}/`);
}

/**
 * Runs the build stage in `root`: COPY from the context (the files of
 * `contextFiles`), ENV, WORKDIR and RUN (`sh -c`, from the WORKDIR, with the
 * stage's ENV over `env`). A global npm install of a tool is not run: the
 * same version must already be on PATH, and is checked.
 */
export function replayBuildStage(
  dockerfile: Dockerfile,
  stageName: string,
  { repoRoot, root, env }: { repoRoot: string; root: string; env: Record<string, string> },
): BuildReplay {
  const files = contextFiles(repoRoot);
  const steps: ReplayStep[] = [];
  const stageEnv: Record<string, string> = {};
  let workdir = '/';
  const host = (imagePath: string) => join(root, posix.resolve(workdir, imagePath));
  for (const { keyword, args, line } of stageNamed(dockerfile, stageName).instructions) {
    const started = Date.now();
    if (keyword === 'WORKDIR') {
      workdir = posix.resolve(workdir, args);
      mkdirSync(host('.'), { recursive: true });
    } else if (keyword === 'ENV') Object.assign(stageEnv, parseEnv(args));
    else if (keyword === 'COPY') copyFromContext(parseCopy(args), files, repoRoot, host);
    else if (keyword === 'RUN') {
      if (isToolInstall(args)) checkTools(args);
      else {
        const result = spawnSync('sh', ['-c', args], {
          cwd: host('.'),
          env: { ...env, ...stageEnv },
          encoding: 'utf8',
          maxBuffer: 64 << 20,
        });
        if (result.status !== 0) {
          throw new Error(
            `Dockerfile:${line}: RUN ${args}: exit ${result.status}\n${result.stdout}${result.stderr}`,
          );
        }
      }
    } else if (keyword !== 'USER' && keyword !== 'ARG') {
      throw new Error(`Dockerfile:${line}: ${keyword} is not replayed in the build stage`);
    }
    steps.push({ instruction: `${keyword} ${args}`, ms: Date.now() - started });
  }
  return { root, steps };
}

function copyFromContext(
  copy: ReturnType<typeof parseCopy>,
  files: string[],
  repoRoot: string,
  host: (imagePath: string) => string,
): void {
  if (copy.from !== undefined) throw new Error(`the build stage copies from ${copy.from}`);
  const intoFolder = copy.dest.endsWith('/') || copy.sources.length > 1;
  for (const source of copy.sources) {
    const prefix = source.replace(/\/$/, '');
    const matched = files.filter((f) => f === prefix || f.startsWith(`${prefix}/`));
    if (matched.length === 0) throw new Error(`COPY ${source}: not in the build context`);
    for (const file of matched) {
      const target =
        file === prefix
          ? intoFolder
            ? join(host(copy.dest), posix.basename(file))
            : host(copy.dest)
          : join(host(copy.dest), relative(prefix, file));
      mkdirSync(dirname(target), { recursive: true });
      cpSync(join(repoRoot, file), target);
    }
  }
}

function isToolInstall(command: string): boolean {
  return /^npm install --global /.test(command);
}

/** `npm install --global ... name@version`: each tool must be on PATH at that version. */
function checkTools(command: string): void {
  for (const spec of command.split(/\s+/).filter((w) => /^[\w-]+@\d/.test(w))) {
    const [name, version] = spec.split('@') as [string, string];
    const found = execFileSync(name, ['--version'], { encoding: 'utf8' }).trim();
    if (found !== version)
      throw new Error(`the Dockerfile installs ${spec}; ${name} ${found} is on PATH`);
  }
}

export interface HostCommand {
  /** The target's ENTRYPOINT and CMD, `node` being this process's node. */
  command: string[];
  /** The target's WORKDIR, mapped. */
  cwd: string;
  /** The target's ENV, absolute image paths mapped. */
  env: Record<string, string>;
  healthcheck?: string[];
  config: TargetConfig;
}

/**
 * How a target runs, on this machine: each image path is mapped through the
 * target's `COPY --from=<stage>` lines onto the replayed root of that stage.
 */
export function hostCommand(
  dockerfile: Dockerfile,
  target: string,
  roots: Record<string, string>,
): HostCommand {
  const config = resolveTarget(dockerfile, target);
  const mounts = config.copies.map((copy) => {
    const root = roots[copy.from as string];
    if (root === undefined)
      throw new Error(`${target} copies from ${copy.from}, which was not replayed`);
    if (copy.sources.length !== 1) throw new Error(`${target}: one source per COPY --from`);
    return { image: copy.dest.replace(/\/$/, ''), host: join(root, copy.sources[0] as string) };
  });
  // The longest mounted prefix wins, as the later, deeper COPY would.
  mounts.sort((a, b) => b.image.length - a.image.length);
  const map = (path: string): string => {
    if (!path.startsWith('/')) return path;
    const mount = mounts.find((m) => path === m.image || path.startsWith(`${m.image}/`));
    return mount ? join(mount.host, path.slice(mount.image.length)) : path;
  };
  const node = (argv: string[]) =>
    argv.map((arg, i) => (i === 0 && arg === 'node' ? process.execPath : arg));
  const cwd = map(config.workdir);
  if (!existsSync(cwd) || !statSync(cwd).isDirectory())
    throw new Error(`${target}: WORKDIR ${config.workdir} maps to nothing`);
  return {
    command: node([...config.entrypoint, ...config.cmd]),
    cwd,
    env: Object.fromEntries(Object.entries(config.env).map(([k, v]) => [k, map(v)])),
    ...(config.healthcheck ? { healthcheck: node(config.healthcheck) } : {}),
    config,
  };
}
