/**
 * The catalog's hand-written summary check (engine/store/summary-check.ts) against the manifest
 * schema less the map (zod, engine/store/snapshot.ts): same verdict and same output on a valid
 * summary and on every mutation of it below.
 */
import { validateSummary, parseSummaryWithSchema } from '../../../engine/store/snapshot';
import { summaryProblem } from '../../../engine/store/summary-check';

const valid = {
  version: 1,
  time: '2026-12-04T10:00:00.000Z',
  hostname: 'web-1',
  username: 'root',
  source: { format: 'qcow2', location: 'scaleway-block://fr-par-1/11111111-1111-4111-8111-111111111111', kind: 'scaleway-block', exported: true, members: 2 },
  tags: { environment: 'production', team: 'web' },
  size: 21474836480,
  chunker: { kind: 'fixed', size: 65536 },
  stats: { bytesRead: 1, bytesNew: 2, bytesStored: 3, chunks: 4, newChunks: 5, holeBytes: 6, durationMs: 7 },
};

type Json = Record<string, unknown>;
const clone = (): Json => JSON.parse(JSON.stringify(valid)) as Json;

/** Every field set to each of these, one at a time, at every depth. */
const odd: unknown[] = [undefined, null, 0, -1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, '', 'x', true, [], {}, [1], { kind: 'fixed' }];

function* mutations(): Generator<{ what: string; json: Json }> {
  yield { what: 'valid', json: clone() };
  yield { what: 'fastcdc', json: { ...clone(), chunker: { kind: 'fastcdc', min: 1, avg: 2, max: 3 } } };
  yield { what: 'extra top-level field', json: { ...clone(), map: [], surprise: 1 } };
  yield { what: 'no tags', json: { ...clone(), tags: {} } };
  const paths: string[][] = [];
  const walk = (o: Json, at: string[]): void => {
    for (const [k, v] of Object.entries(o)) {
      paths.push([...at, k]);
      if (typeof v === 'object' && v !== null) walk(v as Json, [...at, k]);
    }
  };
  walk(clone(), []);
  for (const path of paths) {
    for (const v of odd) {
      const json = clone();
      let o = json;
      for (const k of path.slice(0, -1)) o = o[k] as Json;
      if (v === undefined) delete o[path[path.length - 1]];
      else o[path[path.length - 1]] = v;
      yield { what: `${path.join('.')} = ${String(JSON.stringify(v))}`, json };
    }
  }
  for (const v of odd) yield { what: `whole = ${String(JSON.stringify(v))}`, json: v as Json };
}

describe('summary check', () => {
  it('agrees with the schema on every mutation, and gives the same summary', () => {
    let accepted = 0;
    let refused = 0;
    for (const { what, json } of mutations()) {
      const zod = parseSummaryWithSchema(json);
      const hand = summaryProblem(json);
      expect({ what, accepted: hand === undefined }).toEqual({ what, accepted: zod !== undefined });
      if (zod) {
        accepted++;
        expect(JSON.stringify(validateSummary(json, 'x'))).toBe(JSON.stringify(zod));
      } else {
        refused++;
        expect(() => validateSummary(json, 'catalog/abc')).toThrow(`catalog/abc`);
      }
    }
    expect(accepted).toBeGreaterThan(10);
    expect(refused).toBeGreaterThan(100);
  });
});
