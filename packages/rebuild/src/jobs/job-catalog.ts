import { z } from 'zod';

/** A whole rebuild: prepares nothing itself, replays what no share covered, catches up and swaps. */
export const REBUILD_JOB = 'rebuild';
/** A child of a rebuild flow: replays a range of partitions into the target version. */
export const REBUILD_SHARE_JOB = 'rebuild-share';

const rebuildData = z.object({
  /** The rebuild's id: the parent job's id and the key of its `refract.rebuilds` row. */
  rebuildId: z.string().min(1),
  projection: z.string().min(1),
  targetVersion: z.number().int().positive(),
  /** W3C trace context of the enqueue: the job's span continues its trace. */
  traceparent: z.string().optional(),
  tracestate: z.string().optional(),
});

const shareData = rebuildData.extend({
  share: z.number().int().nonnegative(),
  partitions: z.array(z.number().int().nonnegative()).min(1),
});

/** Every job this package puts on the queue, by name, with the schema of its payload. */
export const jobCatalog = {
  [REBUILD_JOB]: rebuildData,
  [REBUILD_SHARE_JOB]: shareData,
} as const;

export type JobName = keyof typeof jobCatalog;
export type JobData<N extends JobName> = z.infer<(typeof jobCatalog)[N]>;
export type RebuildJobData = JobData<typeof REBUILD_JOB>;
export type RebuildShareJobData = JobData<typeof REBUILD_SHARE_JOB>;

/** A payload that does not match its job's schema. Never retried: a retry cannot fix it. */
export class InvalidJobDataError extends Error {
  constructor(name: string, issues: string) {
    super(`invalid ${name} job data: ${issues}`);
  }
}

/** Validates a payload against the catalog; used at enqueue and again at processing. */
export function parseJobData<N extends JobName>(name: N, data: unknown): JobData<N> {
  const schema = jobCatalog[name] as unknown as z.ZodType<JobData<N>> | undefined;
  if (!schema) throw new InvalidJobDataError(name, 'unknown job name');
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw new InvalidJobDataError(name, z.prettifyError(parsed.error));
  return parsed.data;
}

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(jobCatalog, name);
}
