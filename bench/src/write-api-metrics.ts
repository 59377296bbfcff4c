/** The write API's own account of a phase, from two scrapes of its `/metrics`. */
export interface GroupCommitStats {
  /** Group-commit transactions during the phase. */
  transactions: number;
  appendsPerTransaction: number;
  /** Mean duration of one transaction (BEGIN to COMMIT answered). */
  msPerTransaction: number;
  /** Mean time an append took in the store, group-commit wait included. */
  msPerAppend: number;
}

const NAMES = [
  'refract_group_commit_batch_appends_sum',
  'refract_group_commit_batch_appends_count',
  'refract_group_commit_duration_seconds_sum',
  'refract_write_api_append_duration_seconds_sum',
  'refract_write_api_append_duration_seconds_count',
] as const;

type Scrape = Record<(typeof NAMES)[number], number>;

async function scrape(origin: string): Promise<Scrape> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const values = {} as Scrape;
  for (const name of NAMES) {
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    values[name] = match ? Number(match[1]) : 0;
  }
  return values;
}

/** Scrapes now; the returned function scrapes again and gives the phase's group-commit figures. */
export async function startGroupCommitStats(
  origin: string,
): Promise<() => Promise<GroupCommitStats>> {
  const before = await scrape(origin);
  return async () => {
    const after = await scrape(origin);
    const delta = (name: (typeof NAMES)[number]) => after[name] - before[name];
    const transactions = delta('refract_group_commit_batch_appends_count');
    const appends = delta('refract_write_api_append_duration_seconds_count');
    const round = (value: number) => Math.round(value * 100) / 100;
    return {
      transactions,
      appendsPerTransaction: round(delta('refract_group_commit_batch_appends_sum') / transactions),
      msPerTransaction: round(
        (delta('refract_group_commit_duration_seconds_sum') * 1000) / transactions,
      ),
      msPerAppend: round((delta('refract_write_api_append_duration_seconds_sum') * 1000) / appends),
    };
  };
}
