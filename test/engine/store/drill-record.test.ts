import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initRepository, listDrills, saveDrillRecord, type DrillRecord } from '../../../engine';
import { PASS, TEST_INIT, tempDir } from '../../helpers';

const SNAP = 'ab'.repeat(32);

function record(over: Partial<DrillRecord> = {}): DrillRecord {
  return {
    version: 1, snapshot: SNAP, snapshotTime: '2026-11-01T03:00:00.000Z', source: { location: '/srv/web.img', hostname: 'web-1' },
    target: 'file', started: '2026-11-02T10:00:00.000Z', finished: '2026-11-02T10:01:00.000Z', rtoSeconds: 42.5, bytesVerified: 4096,
    result: 'passed', hostname: 'ci-1', username: 'backup', ...over,
  };
}

describe('drill records (FORMAT.md §13)', () => {
  it('are sealed under drills/<sha256>, listed oldest first, and one damaged record is reported, not thrown', async () => {
    const dir = await tempDir();
    try {
      const repo = await initRepository(join(dir.path, 'repo'), PASS, TEST_INIT);
      const late = await saveDrillRecord(repo, record({ started: '2026-11-03T10:00:00.000Z', result: 'failed', rtoSeconds: null, error: { code: 'DAMAGED_OBJECT', message: 'pack x is damaged' } }));
      const early = await saveDrillRecord(repo, record());
      const files = await readdir(join(dir.path, 'repo', 'drills'));
      expect(files.sort()).toEqual([early, late].sort());
      // Sealed: nothing readable in the file, and its name is the SHA-256 of its bytes.
      const bytes = await readFile(join(dir.path, 'repo', 'drills', early));
      expect(bytes.toString('latin1')).not.toContain('web.img');
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(early);

      let listing = await listDrills(repo);
      expect(listing.drills.map((d) => d.id)).toEqual([early, late]);
      expect(listing.drills[1]).toMatchObject({ result: 'failed', rtoSeconds: null, error: { code: 'DAMAGED_OBJECT' } });
      expect(listing.damaged).toEqual([]);

      // A record whose bytes were swapped for another's is refused by name; a flipped bit too. The others stay listed.
      const third = await saveDrillRecord(repo, record({ started: '2026-11-04T10:00:00.000Z' }));
      await writeFile(join(dir.path, 'repo', 'drills', third), bytes);
      const flipped = Buffer.from(await readFile(join(dir.path, 'repo', 'drills', late)));
      flipped[flipped.length - 1] ^= 1;
      const fake = createHash('sha256').update(flipped).digest('hex');
      await writeFile(join(dir.path, 'repo', 'drills', fake), flipped);
      listing = await listDrills(repo);
      expect(listing.drills.map((d) => d.id)).toEqual([early, late]);
      expect(listing.damaged.map((d) => d.id).sort()).toEqual([third, fake].sort());
      expect(listing.damaged.find((d) => d.id === third)?.message).toContain(`drills/${third}`);
      expect(listing.damaged.find((d) => d.id === fake)?.message).toContain('authentication failed');

      // A filter by source.
      expect((await listDrills(repo, { sources: ['/elsewhere.img'] })).drills).toEqual([]);
    } finally {
      await dir.cleanup();
    }
  });

  it('refuses to write a record readers would refuse, and readers ignore members they do not know', async () => {
    const dir = await tempDir();
    try {
      const repo = await initRepository(join(dir.path, 'repo'), PASS, TEST_INIT);
      await expect(saveDrillRecord(repo, record({ snapshot: 'nope' }))).rejects.toMatchObject({ code: 'INVALID_INPUT' });
      await expect(saveDrillRecord(repo, record({ result: 'failed' }))).rejects.toThrow(/error/);
      const id = await saveDrillRecord(repo, { ...record(), futureField: { x: 1 } } as DrillRecord);
      const [d] = (await listDrills(repo)).drills;
      expect(d.id).toBe(id);
      expect(d).not.toHaveProperty('futureField');
    } finally {
      await dir.cleanup();
    }
  });
});
