import type { JsonObject } from './envelope.js';

/** Brings one event type's payload from `fromVersion` to `fromVersion + 1`. */
export interface Upcaster {
  type: string;
  fromVersion: number;
  upcast(data: JsonObject, metadata: JsonObject): JsonObject;
}

export interface UpcastInput {
  type: string;
  schemaVersion: number;
  data: JsonObject;
  metadata: JsonObject;
}

/**
 * A chain of upcasters per event type. Readers apply it to every event they
 * load, so handlers only ever see the current shape of each type, while the
 * log keeps what was written.
 */
export class UpcasterRegistry {
  private readonly steps = new Map<string, Map<number, Upcaster>>();
  private readonly current = new Map<string, number>();

  register(...upcasters: Upcaster[]): this {
    for (const upcaster of upcasters) {
      let byVersion = this.steps.get(upcaster.type);
      if (!byVersion) {
        byVersion = new Map();
        this.steps.set(upcaster.type, byVersion);
      }
      if (byVersion.has(upcaster.fromVersion)) {
        throw new Error(
          `two upcasters for ${upcaster.type} from schema version ${upcaster.fromVersion}`,
        );
      }
      byVersion.set(upcaster.fromVersion, upcaster);
      const target = upcaster.fromVersion + 1;
      this.current.set(upcaster.type, Math.max(this.current.get(upcaster.type) ?? 1, target));
    }
    return this;
  }

  /**
   * Declares the schema version new events of `type` are written with, for a
   * type whose first version was not 1 or that has no upcasters yet.
   */
  declare(type: string, version: number): this {
    this.current.set(type, Math.max(this.current.get(type) ?? 1, version));
    return this;
  }

  /** The schema version new events of `type` are written with. */
  currentVersion(type: string): number {
    return this.current.get(type) ?? 1;
  }

  /** Returns the event in its current shape; the input is not modified. */
  upcast<T extends UpcastInput>(event: T): T {
    const byVersion = this.steps.get(event.type);
    if (!byVersion) return event;
    let { data, schemaVersion } = event;
    const target = this.currentVersion(event.type);
    while (schemaVersion < target) {
      const step = byVersion.get(schemaVersion);
      if (!step) {
        throw new Error(`no upcaster for ${event.type} from schema version ${schemaVersion}`);
      }
      data = step.upcast(data, event.metadata);
      schemaVersion += 1;
    }
    return schemaVersion === event.schemaVersion ? event : { ...event, data, schemaVersion };
  }
}
