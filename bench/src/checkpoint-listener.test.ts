import { describe, expect, it } from 'vitest';
import { visibilityLags } from './checkpoint-listener.js';
import { coveredEvents } from './checkpoints.js';
import { parseVmHwmMb } from './projector-workers.js';

describe('visibilityLags', () => {
  const notified = [
    [
      { position: 3, at: 100 },
      { position: 9, at: 130 },
    ],
    [{ position: 5, at: 90 }],
  ];

  it('takes the first notification of the partition that reaches the position', () => {
    const result = visibilityLags(
      [
        { position: 2, partition: 0, at: 95 },
        { position: 3, partition: 0, at: 96 },
        { position: 7, partition: 0, at: 101 },
      ],
      notified,
    );
    expect(result.lagsMs).toEqual([5, 4, 29]);
    expect(result.visibleBeforeAck).toBe(0);
  });

  it('counts a notification before the acknowledgement as 0', () => {
    const result = visibilityLags([{ position: 4, partition: 1, at: 92 }], notified);
    expect(result.lagsMs).toEqual([0]);
    expect(result.visibleBeforeAck).toBe(1);
  });

  it('does not take another partition’s notification', () => {
    const result = visibilityLags([{ position: 8, partition: 1, at: 80 }], notified);
    expect(result.lagsMs).toEqual([]);
    expect(result.unseen).toEqual([{ position: 8, partition: 1, at: 80 }]);
  });
});

describe('coveredEvents', () => {
  it('counts, per partition, the events at or below its checkpoint', () => {
    const positions = [[1, 4, 6], [2, 3], []];
    const at = [4, 0, 10];
    expect(coveredEvents(positions, (p) => at[p]!)).toBe(2);
    expect(coveredEvents(positions, () => 6)).toBe(5);
  });
});

describe('parseVmHwmMb', () => {
  it('reads the peak resident set in MB', () => {
    const status = 'Name:\tnode\nVmPeak:\t 1000000 kB\nVmHWM:\t  163840 kB\nVmRSS:\t  150000 kB\n';
    expect(parseVmHwmMb(status)).toBe(160);
  });

  it('is 0 without the field', () => {
    expect(parseVmHwmMb('Name:\tnode\n')).toBe(0);
  });
});
