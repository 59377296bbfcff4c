import type { AnyCommandRoute } from './command.js';
import type { JsonObject } from './envelope.js';
import { InvalidEventError } from './errors.js';
import { type EventType, upcastersOf } from './event-type.js';
import { issueField } from './parse-input.js';
import type { AnyProjection } from './projection.js';
import { isReactor, type Reactor } from './reactor.js';
import { EVENT_TYPE_PATTERN } from './stream-id.js';
import { UpcasterRegistry } from './upcasters.js';

/**
 * A read API of the application's own, mounted by the query-api service.
 * Build one with `defineQueryApi` from `@refract/read-your-writes`, which
 * types `register` for fastify.
 */
export interface QueryApiDefinition {
  readonly kind: 'query-api';
  readonly name: string;
  register(server: unknown, context: unknown): Promise<void>;
}

/** One request of demo traffic: `POST /commands/{type}` with `body`. */
export interface DemoCommand {
  type: string;
  body: JsonObject;
}

/** Demo traffic for `refract dev`: an endless, seeded sequence of commands. */
export interface DemoTraffic {
  name: string;
  /** `runId` makes this run's ids unique, so a restart on kept data starts new aggregates. */
  commands(options: { seed: number; runId: string }): Iterator<DemoCommand>;
}

/** What an application module declares: everything the engine runs of the user's. */
export interface AppDefinition {
  /** Names the application in logs. @defaultValue 'app' */
  name?: string;
  /** The event types; appends of these types are checked against their schemas. */
  events?: readonly EventType[];
  /** Command handlers, served as `POST /commands/{type}`. */
  commands?: readonly AnyCommandRoute[];
  /** Read models: Postgres table projections and Redis counter projections. */
  projections?: readonly AnyProjection[];
  /** Consumers that call the outside world through an effect ledger; never rebuilt. */
  reactors?: readonly Reactor[];
  /**
   * Worker pools by name, each listing its projections (and reactors) by
   * name. A projection may instead name its pool itself; either way it
   * belongs to exactly one.
   */
  pools?: Readonly<Record<string, readonly string[]>>;
  /** Accept raw appends of event types not declared in `events`. @defaultValue false */
  acceptUndeclaredEvents?: boolean;
  queryApi?: QueryApiDefinition;
  demo?: DemoTraffic;
}

/** An application module's default export, checked and indexed: what every service loads. */
export interface RefractApp {
  readonly kind: 'refract-app';
  readonly name: string;
  /** The definition it was made from (composeApps merges these). */
  readonly definition: AppDefinition;
  readonly events: ReadonlyMap<string, EventType>;
  readonly upcasters: UpcasterRegistry;
  readonly commands: readonly AnyCommandRoute[];
  /** Every projection, each with its `pool` filled in. */
  readonly projections: readonly AnyProjection[];
  /** Every reactor, each with its `pool` filled in. */
  readonly reactors: readonly Reactor[];
  /** Pool names, in declaration order. */
  readonly pools: readonly string[];
  readonly acceptUndeclaredEvents: boolean;
  readonly queryApis: readonly QueryApiDefinition[];
  readonly demos: readonly DemoTraffic[];
  /** The projection of that name. */
  projection(name: string): AnyProjection | undefined;
  /** The reactor of that name. */
  reactor(name: string): Reactor | undefined;
  /**
   * The reactors a pool runs, narrowed to those among `names` when given
   * (a worker's PROJECTIONS names projections and reactors alike: one name space).
   */
  reactorsOf(pool: string, names?: readonly string[] | null): Reactor[];
  /**
   * The projections a pool runs, narrowed to `names` when given; throws naming
   * what is wrong. A name may be a reactor of the pool (`reactorsOf` returns it).
   */
  projectionsOf(pool: string, names?: readonly string[] | null): AnyProjection[];
  /**
   * Checks an event about to be appended: a declared type (or undeclared ones
   * accepted), a known schema version, and a payload its type's schema accepts
   * once upcast. Returns the schema version to store; throws InvalidEventError
   * naming the field under `field` (e.g. `events.3`).
   */
  checkEvent(
    event: { type: string; data: JsonObject; metadata?: JsonObject; schemaVersion?: number },
    field: string,
  ): number;
}

/** A module that cannot run: each problem names the item. Nothing has been written. */
export class AppConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid application module:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'AppConfigError';
  }
}

export function isRefractApp(value: unknown): value is RefractApp {
  return (
    typeof value === 'object' && value !== null && (value as RefractApp).kind === 'refract-app'
  );
}

/** Checks an application module's declarations and indexes them. Throws AppConfigError. */
export function defineApp(definition: AppDefinition): RefractApp {
  const problems: string[] = [];
  const events = indexEvents(definition.events ?? [], problems);
  const upcasters = registerUpcasters(events, problems);
  const commands = definition.commands ?? [];
  for (const type of duplicates(commands.map((c) => c.type))) {
    problems.push(`command ${type} is declared twice`);
  }
  const assigned = assignPools(definition, problems);
  const projections = assigned.filter((c): c is AnyProjection => !isReactor(c));
  const reactors = assigned.filter(isReactor);
  for (const projection of assigned) {
    for (const type of projection.handles) {
      if (!events.has(type)) {
        problems.push(
          `${isReactor(projection) ? 'reactor' : 'projection'} ${projection.name} handles ${type}, which is not a declared event type`,
        );
      }
    }
  }
  if (problems.length > 0) throw new AppConfigError(problems);

  const byName = new Map(projections.map((p) => [p.name, p]));
  const reactorByName = new Map(reactors.map((r) => [r.name, r]));
  const pools = [...new Set(assigned.map((p) => p.pool as string))];
  const acceptUndeclaredEvents = definition.acceptUndeclaredEvents ?? false;
  return {
    kind: 'refract-app',
    name: definition.name ?? 'app',
    definition,
    events,
    upcasters,
    commands,
    projections,
    reactors,
    pools,
    acceptUndeclaredEvents,
    queryApis: definition.queryApi ? [definition.queryApi] : [],
    demos: definition.demo ? [definition.demo] : [],
    projection: (name) => byName.get(name),
    reactor: (name) => reactorByName.get(name),
    reactorsOf: (pool, names) =>
      reactors.filter((r) => r.pool === pool && (!names || names.includes(r.name))),
    projectionsOf(pool, names) {
      const ofPool = projections.filter((p) => p.pool === pool);
      if (!names) {
        if (ofPool.length === 0 && !reactors.some((r) => r.pool === pool)) {
          throw new Error(`no projection belongs to pool ${pool} (pools: ${pools.join(', ')})`);
        }
        return ofPool;
      }
      return names.flatMap((name) => {
        const reactor = reactorByName.get(name);
        const named = byName.get(name) ?? reactor;
        if (!named) throw new Error(`unknown projection ${name}`);
        if (named.pool !== pool) {
          throw new Error(`${name} belongs to pool ${named.pool}, not ${pool}`);
        }
        return reactor ? [] : [byName.get(name)!];
      });
    },
    checkEvent(event, field) {
      const eventType = events.get(event.type);
      if (!eventType) {
        if (!acceptUndeclaredEvents) {
          throw new InvalidEventError(
            issueField(field, ['type']),
            `${event.type} is not an event type the application declares`,
          );
        }
        return event.schemaVersion ?? upcasters.currentVersion(event.type);
      }
      const version = event.schemaVersion ?? eventType.version;
      const oldest = Math.min(eventType.version, ...eventType.upcasters.map((u) => u.fromVersion));
      if (version > eventType.version || version < oldest) {
        throw new InvalidEventError(
          issueField(field, ['schemaVersion']),
          `must be from ${oldest} to ${eventType.version} for ${event.type}`,
        );
      }
      const current =
        version === eventType.version
          ? event.data
          : upcasters.upcast({
              type: event.type,
              schemaVersion: version,
              data: event.data,
              metadata: event.metadata ?? {},
            }).data;
      const result = eventType.schema.safeParse(current);
      if (!result.success) {
        const issue = result.error.issues[0];
        const path =
          issue?.code === 'unrecognized_keys'
            ? [...issue.path, issue.keys[0] ?? '']
            : (issue?.path ?? []);
        const upcast =
          version === eventType.version ? '' : ` (once upcast to version ${eventType.version})`;
        throw new InvalidEventError(
          issueField(field, ['data', ...path]),
          `${issue?.code === 'unrecognized_keys' ? 'is not a known field' : (issue?.message ?? 'is invalid')}${upcast}`,
        );
      }
      return version;
    },
  };
}

/** One application made of several modules (e.g. two domains in one stack); names must not clash. */
export function composeApps(name: string, ...apps: RefractApp[]): RefractApp {
  const parts = apps.map((app) => app.definition);
  const pools: Record<string, string[]> = {};
  for (const part of parts) {
    for (const [pool, names] of Object.entries(part.pools ?? {})) {
      pools[pool] = [...(pools[pool] ?? []), ...names];
    }
  }
  const composed = defineApp({
    name,
    events: parts.flatMap((p) => p.events ?? []),
    commands: parts.flatMap((p) => p.commands ?? []),
    projections: parts.flatMap((p) => p.projections ?? []),
    reactors: parts.flatMap((p) => p.reactors ?? []),
    pools,
    acceptUndeclaredEvents: parts.some((p) => p.acceptUndeclaredEvents),
  });
  return {
    ...composed,
    queryApis: apps.flatMap((app) => app.queryApis),
    demos: apps.flatMap((app) => app.demos),
  };
}

function indexEvents(types: readonly EventType[], problems: string[]): Map<string, EventType> {
  const events = new Map<string, EventType>();
  for (const eventType of types) {
    if (events.has(eventType.type)) problems.push(`event type ${eventType.type} is declared twice`);
    if (!EVENT_TYPE_PATTERN.test(eventType.type)) {
      problems.push(
        `event type ${JSON.stringify(eventType.type)} must match ${EVENT_TYPE_PATTERN}`,
      );
    }
    if (!Number.isInteger(eventType.version) || eventType.version < 1) {
      problems.push(`event type ${eventType.type}: version must be a positive integer`);
    }
    events.set(eventType.type, eventType);
  }
  return events;
}

/** Each type's upcasters must form one chain, without a gap, up to its current version. */
function registerUpcasters(
  events: ReadonlyMap<string, EventType>,
  problems: string[],
): UpcasterRegistry {
  const registry = new UpcasterRegistry();
  for (const eventType of events.values()) {
    registry.declare(eventType.type, eventType.version);
    const from = eventType.upcasters.map((u) => u.fromVersion).sort((a, b) => a - b);
    for (const version of duplicates(from)) {
      problems.push(`event type ${eventType.type}: two upcasters from version ${version}`);
    }
    const beyond = from.filter((v) => !Number.isInteger(v) || v < 1 || v >= eventType.version);
    for (const version of beyond) {
      problems.push(
        `event type ${eventType.type}: an upcaster from version ${version}, but the type is at version ${eventType.version}`,
      );
    }
    const lowest = from[0];
    if (lowest !== undefined && beyond.length === 0) {
      for (let version = lowest; version < eventType.version; version += 1) {
        if (!from.includes(version)) {
          problems.push(
            `event type ${eventType.type}: the upcaster chain has a gap: none from version ${version} to ${version + 1}`,
          );
        }
      }
    }
    if (beyond.length === 0 && duplicates(from).length === 0) {
      registry.register(...upcastersOf(eventType));
    }
  }
  return registry;
}

/** Fills in each projection's and reactor's pool; each must end up in exactly one. */
function assignPools(definition: AppDefinition, problems: string[]): (AnyProjection | Reactor)[] {
  const projections = [...(definition.projections ?? []), ...(definition.reactors ?? [])];
  // One namespace: checkpoints, pause and parking are keyed by the name.
  for (const name of duplicates(projections.map((p) => p.name))) {
    problems.push(`two projections are named ${name}`);
  }
  const listed = new Map<string, string[]>();
  for (const [pool, names] of Object.entries(definition.pools ?? {})) {
    for (const name of names) {
      if (!projections.some((p) => p.name === name)) {
        problems.push(`pool ${pool} lists ${name}, which is not a declared projection`);
      }
      listed.set(name, [...(listed.get(name) ?? []), pool]);
    }
  }
  return projections.map((projection) => {
    const pools = [
      ...new Set([
        ...(projection.pool ? [projection.pool] : []),
        ...(listed.get(projection.name) ?? []),
      ]),
    ];
    if (pools.length === 0) problems.push(`projection ${projection.name} is in no pool`);
    if (pools.length > 1) {
      problems.push(`projection ${projection.name} is in two pools: ${pools.join(', ')}`);
    }
    return { ...projection, pool: pools[0] };
  });
}

function duplicates<T>(values: readonly T[]): T[] {
  const seen = new Set<T>();
  const twice = new Set<T>();
  for (const value of values) (seen.has(value) ? twice : seen).add(value);
  return [...twice];
}
