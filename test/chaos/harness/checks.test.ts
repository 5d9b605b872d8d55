import { describe, expect, it } from 'vitest';
import {
  checkFailedEvents,
  checkLedger,
  checkNoFileStuck,
  checkNothingLeft,
  checkReconciliation,
  figures,
  type Observation,
} from './checks.ts';
import { createLedger } from './ledger.ts';

function observation(): Observation {
  const ledger = createLedger();
  ledger.record(['ok', 'twice', 'poison', 'gone'], 200, null);
  ledger.record(['refused'], 400, { code: 'SLUICE_ERR_PUBLISHER_SCHEMA' });
  return {
    ledger,
    warehouse: {
      idCounts: new Map([
        ['ok', 1],
        ['twice', 2],
        ['refused', 1],
      ]),
      failed: [
        { eventId: 'poison', code: 'SLUICE_ERR_LOAD_INVALID_EVENT', reason: 'lone surrogate', name: 'f1' },
        { eventId: null, code: null, reason: null, name: 'f1' },
      ],
      loads: [
        {
          name: 'f1',
          status: 'loaded',
          reason: null,
          linesRead: 5,
          eventsLoaded: 3,
          duplicates: 1,
          failed: 1,
        },
        {
          name: 'f2',
          status: 'loaded',
          reason: null,
          linesRead: 5,
          eventsLoaded: 3,
          duplicates: 0,
          failed: 1,
        },
        {
          name: 'f3',
          status: 'quarantined',
          reason: null,
          linesRead: 0,
          eventsLoaded: 0,
          duplicates: 0,
          failed: 0,
        },
      ],
    },
    rawFiles: ['f1', 'f2', 'f3', 'f4'],
    leftoverProcesses: [{ pid: 42, argv: 'node server.ts' }],
    leftoverTempFiles: ['buckets/.sluice-raw.spool/x.part'],
  };
}

describe('chaos checks', () => {
  it('each check names what broke the promise', () => {
    const o = observation();
    expect(checkLedger(o, (id) => id === 'poison')).toEqual([
      '1 acknowledged ids missing from the warehouse: gone',
      '1 acknowledged ids loaded more than once: twice',
      '1 ids the collector refused are in the warehouse: refused',
    ]);
    expect(checkLedger(o)).toContain('1 valid acknowledged ids went to failed events: poison');
    expect(checkFailedEvents(o)).toEqual(['1 failed events without a code or reason']);
    expect(checkReconciliation(o)).toEqual([
      'f2: lines_read 5 != events_loaded 3 + duplicates 0 + failed 1',
      'f3: quarantined without a reason',
    ]);
    expect(checkNoFileStuck(o)).toEqual(['1 raw files without a loads row: f4']);
    expect(checkNothingLeft(o)).toEqual([
      'processes left running: 42 node server.ts',
      'temp files left: buckets/.sluice-raw.spool/x.part',
    ]);
    expect(figures(o)).toEqual({
      acknowledged: 4,
      loaded: 2,
      duplicatesRemoved: 1,
      failed: 1,
      quarantined: 1,
      lost: 1,
      doubled: 1,
    });
  });
});
