/**
 * The subset of Dockerfile syntax the repository's Dockerfile uses, parsed
 * so that a test can replay its build stage and start its targets without
 * a Docker engine (images.e2e.test.ts). Anything outside that subset is
 * refused by name rather than skipped, so the test and the file cannot
 * drift apart silently.
 */

export interface Instruction {
  /** Upper-case: FROM, RUN, COPY, ... */
  keyword: string;
  /** The rest of the instruction, continuation lines joined. */
  args: string;
  /** 1-based line of the keyword, for messages. */
  line: number;
}

export interface Stage {
  name: string;
  /** An image reference, or the name of an earlier stage. */
  base: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARG defaults declared before the first FROM. */
  args: Record<string, string>;
  stages: Stage[];
}

export interface CopyInstruction {
  /** The stage of `--from=`, if any. */
  from?: string;
  sources: string[];
  dest: string;
}

export interface TargetConfig {
  name: string;
  /** The stages from the first (an image) to the target. */
  chain: string[];
  workdir: string;
  env: Record<string, string>;
  /** `COPY --from=<stage>` into this target or its runtime bases, in order. */
  copies: CopyInstruction[];
  entrypoint: string[];
  cmd: string[];
  /** The HEALTHCHECK's exec-form command, if the target has one. */
  healthcheck?: string[];
  exposed: number[];
}

const KNOWN = new Set([
  'ARG',
  'FROM',
  'WORKDIR',
  'RUN',
  'COPY',
  'ENV',
  'USER',
  'EXPOSE',
  'CMD',
  'ENTRYPOINT',
  'HEALTHCHECK',
]);

export function parseDockerfile(text: string): Dockerfile {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const first = i + 1;
    let line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    // A trailing backslash continues the instruction; comment lines inside it are dropped.
    let continued = line.endsWith('\\');
    if (continued) line = line.slice(0, -1).trimEnd();
    while (continued && i + 1 < lines.length) {
      i += 1;
      const next = (lines[i] as string).trim();
      if (next.startsWith('#')) continue;
      continued = next.endsWith('\\');
      line = `${line} ${continued ? next.slice(0, -1).trimEnd() : next}`;
    }
    const match = /^(\S+)\s*(.*)$/.exec(line);
    const keyword = (match?.[1] ?? '').toUpperCase();
    const rest = match?.[2] ?? '';
    if (!KNOWN.has(keyword)) throw new Error(`Dockerfile:${first}: ${keyword} is not supported`);
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!from) throw new Error(`Dockerfile:${first}: cannot read FROM ${rest}`);
      const base = substitute(from[1] as string, args);
      stages.push({ name: from[2] ?? `stage-${stages.length}`, base, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) {
      if (keyword !== 'ARG') throw new Error(`Dockerfile:${first}: ${keyword} before FROM`);
      const [key, value = ''] = rest.split('=', 2);
      args[key as string] = value;
      continue;
    }
    stage.instructions.push({ keyword, args: rest, line: first });
  }
  return { args, stages };
}

function substitute(value: string, args: Record<string, string>): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string, b: string) => args[a ?? b] ?? '');
}

export function stageNamed(dockerfile: Dockerfile, name: string): Stage {
  const stage = dockerfile.stages.find((s) => s.name === name);
  if (!stage) throw new Error(`Dockerfile has no stage ${name}`);
  return stage;
}

/** A JSON exec form (`["node", "main.js"]`); the shell form is refused. */
export function parseExecForm(args: string, where = 'instruction'): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw new Error(`${where}: only the exec form (a JSON array) is supported: ${args}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === 'string')) {
    throw new Error(`${where}: not an array of strings: ${args}`);
  }
  return parsed;
}

export function parseCopy(args: string): CopyInstruction {
  const words = args.split(/\s+/).filter((w) => w !== '');
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift() as string;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
    else throw new Error(`COPY ${flag} is not supported`);
  }
  const dest = words.pop();
  if (dest === undefined || words.length === 0)
    throw new Error(`COPY needs a source and a destination: ${args}`);
  return { ...(from === undefined ? {} : { from }), sources: words, dest };
}

/** `ENV KEY=value KEY2="a b"`, or the legacy `ENV KEY value`. */
export function parseEnv(args: string): Record<string, string> {
  if (!/^\w+=/.test(args)) {
    const [key, ...value] = args.split(/\s+/);
    return { [key as string]: value.join(' ') };
  }
  const env: Record<string, string> = {};
  for (const pair of args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const raw = pair[2] as string;
    env[pair[1] as string] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
  }
  return env;
}

/** `HEALTHCHECK [--option=value ...] CMD [...]`: the options and the command. */
export function parseHealthcheck(args: string): {
  options: Record<string, string>;
  command: string[];
} {
  const options: Record<string, string> = {};
  let rest = args.trim();
  for (
    let option = /^--([\w-]+)=(\S+)\s+/.exec(rest);
    option;
    option = /^--([\w-]+)=(\S+)\s+/.exec(rest)
  ) {
    options[option[1] as string] = option[2] as string;
    rest = rest.slice(option[0].length);
  }
  if (!rest.startsWith('CMD ')) throw new Error(`HEALTHCHECK needs CMD [...]: ${args}`);
  return { options, command: parseExecForm(rest.slice(4), 'HEALTHCHECK') };
}

/** What a target runs, with what its stage and the stages it is built FROM set. */
export function resolveTarget(dockerfile: Dockerfile, name: string): TargetConfig {
  const chain: Stage[] = [];
  for (let stage: Stage | undefined = stageNamed(dockerfile, name); stage; ) {
    chain.unshift(stage);
    const base: string = stage.base;
    stage = dockerfile.stages.find((s) => s.name === base);
  }
  const config: TargetConfig = {
    name,
    chain: chain.map((s) => s.name),
    workdir: '/',
    env: {},
    copies: [],
    entrypoint: [],
    cmd: [],
    exposed: [],
  };
  for (const stage of chain) {
    for (const { keyword, args, line } of stage.instructions) {
      const where = `Dockerfile:${line}`;
      if (keyword === 'WORKDIR')
        config.workdir = args.startsWith('/') ? args : `${config.workdir}/${args}`;
      else if (keyword === 'ENV') Object.assign(config.env, parseEnv(args));
      else if (keyword === 'COPY') {
        const copy = parseCopy(args);
        if (copy.from === undefined)
          throw new Error(`${where}: ${name} copies from the context; only the build stage may`);
        config.copies.push(copy);
      } else if (keyword === 'CMD') config.cmd = parseExecForm(args, where);
      else if (keyword === 'ENTRYPOINT') {
        config.entrypoint = parseExecForm(args, where);
        config.cmd = [];
      } else if (keyword === 'HEALTHCHECK') config.healthcheck = parseHealthcheck(args).command;
      else if (keyword === 'EXPOSE') config.exposed.push(...args.split(/\s+/).map(Number));
      else if (keyword === 'RUN')
        throw new Error(`${where}: ${name} runs commands; only the build stage may`);
    }
  }
  return config;
}
