/**
 * What every Backend must do, as a reusable jest suite: call describeBackendContract() from a test
 * file with a factory that returns a fresh, empty backend. Not a test file itself (no `.test.ts`).
 */
import { createHash } from 'node:crypto';
import { NotFoundError, ObjectExistsError } from '../../../engine/errors';
import { TMP_DIR, type Backend, type ObjectDraft, type ObjectInfo } from '../../../engine/store/backend';
import { prng } from '../../helpers';

export interface ContractOptions {
  /** Size of the big-object round trip (default 20 MiB). */
  bigObjectSize?: number;
  /** Per-test timeout in ms (default 60 s). */
  timeoutMs?: number;
  /** The backend writes objects in pieces (Backend.draft): the folder store does, S3 does not. */
  drafts?: boolean;
}

async function collect(it: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  // `modified` is optional and checked on its own below.
  for await (const x of it) out.push({ path: x.path, size: x.size });
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export function describeBackendContract(
  name: string,
  makeBackend: () => Promise<Backend>,
  cleanup: (backend: Backend) => Promise<void> = (b) => b.close(),
  options: ContractOptions = {},
): void {
  const timeout = options.timeoutMs ?? 60_000;
  const bigSize = options.bigObjectSize ?? 20 * 1024 * 1024;

  describe(`Backend contract: ${name}`, () => {
    let backend: Backend;
    beforeEach(async () => {
      backend = await makeBackend();
    }, timeout);
    afterEach(async () => {
      if (backend) await cleanup(backend);
    }, timeout);

    test('location names the store', () => {
      expect(typeof backend.location).toBe('string');
      expect(backend.location.length).toBeGreaterThan(0);
    });

    test('put then get returns the same bytes', async () => {
      const data = prng(1)(100_000);
      await backend.put('keys/abc', data);
      expect(Buffer.from(await backend.get('keys/abc')).equals(data)).toBe(true);
    }, timeout);

    test('an empty object round-trips', async () => {
      await backend.put('empty', new Uint8Array(0));
      expect((await backend.get('empty')).byteLength).toBe(0);
      expect(await backend.stat('empty')).toMatchObject({ path: 'empty', size: 0 });
    }, timeout);

    test('ranged get returns exactly the range', async () => {
      const data = prng(2)(10_000);
      await backend.put('packs/ab/range', data);
      const slice = await backend.get('packs/ab/range', { offset: 1234, length: 5678 });
      expect(slice.byteLength).toBe(5678);
      expect(Buffer.from(slice).equals(data.subarray(1234, 1234 + 5678))).toBe(true);
      expect(Buffer.from(await backend.get('packs/ab/range', { offset: 0, length: 1 }))).toEqual(data.subarray(0, 1));
      expect(Buffer.from(await backend.get('packs/ab/range', { offset: 9999, length: 1 }))).toEqual(data.subarray(9999));
    }, timeout);

    test('a ranged get with `into` reads the range into it (ours both do); one too small is not used', async () => {
      const data = prng(3)(10_000);
      await backend.put('packs/ab/into', data);
      const into = new Uint8Array(new SharedArrayBuffer(8192), 8, 6000);
      const got = await backend.get('packs/ab/into', { offset: 100, length: 5000, into });
      expect(Buffer.from(got)).toEqual(data.subarray(100, 5100));
      expect(got.buffer).toBe(into.buffer);
      expect(got.byteOffset).toBe(8);
      const small = new Uint8Array(10);
      const whole = await backend.get('packs/ab/into', { offset: 0, length: 10000, into: small });
      expect(Buffer.from(whole)).toEqual(data);
    }, timeout);

    test('a range past the end is refused, not silently short', async () => {
      await backend.put('short', text('0123456789'));
      await expect(backend.get('short', { offset: 5, length: 10 })).rejects.toMatchObject({ code: 'DAMAGED_OBJECT' });
      await expect(backend.get('short', { offset: 20, length: 1 })).rejects.toMatchObject({ code: 'DAMAGED_OBJECT' });
    }, timeout);

    test('get of a missing object throws NotFoundError', async () => {
      await expect(backend.get('packs/00/missing')).rejects.toBeInstanceOf(NotFoundError);
      await expect(backend.get('packs/00/missing', { offset: 0, length: 4 })).rejects.toBeInstanceOf(NotFoundError);
    }, timeout);

    test('put of an existing path throws ObjectExistsError and keeps the first content', async () => {
      await backend.put('config', text('first'));
      await expect(backend.put('config', text('second'))).rejects.toBeInstanceOf(ObjectExistsError);
      await expect(backend.put('config', text('first'))).rejects.toBeInstanceOf(ObjectExistsError);
      expect(new TextDecoder().decode(await backend.get('config'))).toBe('first');
    }, timeout);

    test('list is recursive, with paths relative to the store root', async () => {
      await backend.put('config', text('c'));
      await backend.put('packs/ab/ab01', text('1'));
      await backend.put('packs/ab/ab02', text('22'));
      await backend.put('packs/cd/cd01', text('333'));
      await backend.put('packsx/other', text('4444'));
      await backend.put('index/i1', text('55555'));
      expect(await collect(backend.list('packs'))).toEqual([
        { path: 'packs/ab/ab01', size: 1 },
        { path: 'packs/ab/ab02', size: 2 },
        { path: 'packs/cd/cd01', size: 3 },
      ]);
      expect(await collect(backend.list('packs/ab'))).toEqual([
        { path: 'packs/ab/ab01', size: 1 },
        { path: 'packs/ab/ab02', size: 2 },
      ]);
      expect(await collect(backend.list('index'))).toEqual([{ path: 'index/i1', size: 5 }]);
    }, timeout);

    test('list gives each object\'s modification time (prune\'s grace period needs it)', async () => {
      const before = Date.now();
      await backend.put('packs/ab/timed', text('t'));
      const listed: ObjectInfo[] = [];
      for await (const x of backend.list('packs')) listed.push(x);
      // A Date (not instanceof-checked: node:fs makes its Dates outside jest's sandbox).
      const modified = listed[0].modified?.getTime();
      expect(typeof modified).toBe('number');
      // Loose: the store's clock may differ from ours by a little.
      expect(Math.abs((modified as number) - before)).toBeLessThan(5 * 60 * 1000);
    }, timeout);

    test('list of a missing folder is empty', async () => {
      expect(await collect(backend.list('snapshots'))).toEqual([]);
      await backend.put('packs/ab/x', text('x'));
      expect(await collect(backend.list('packs/zz'))).toEqual([]);
    }, timeout);

    test('stat gives the size, or undefined when missing', async () => {
      await backend.put('packs/ab/stat', new Uint8Array(4321));
      const before = await backend.now?.();
      expect(await backend.stat('packs/ab/stat')).toMatchObject({ path: 'packs/ab/stat', size: 4321 });
      // The store's clock and the times it stamps objects with are one clock (FORMAT.md §9).
      const info = await backend.stat('packs/ab/stat');
      const listed = [];
      for await (const o of backend.list('packs/ab')) if (o.path === 'packs/ab/stat') listed.push(o);
      expect(listed[0].modified?.getTime()).toBe(info?.modified?.getTime());
      if (before && info?.modified) {
        // Both at one-second resolution on S3: the object was written around `before`, not hours off.
        expect(Math.abs(info.modified.getTime() - before.getTime())).toBeLessThan(5_000);
      }
      expect(await backend.stat('packs/ab/nothing')).toBeUndefined();
    }, timeout);

    test('delete removes, and deleting a missing object is not an error', async () => {
      await backend.put('locks/l1', text('lock'));
      await backend.delete('locks/l1');
      expect(await backend.stat('locks/l1')).toBeUndefined();
      await expect(backend.get('locks/l1')).rejects.toBeInstanceOf(NotFoundError);
      expect(await collect(backend.list('locks'))).toEqual([]);
      await expect(backend.delete('locks/l1')).resolves.toBeUndefined();
      await expect(backend.delete('locks/never')).resolves.toBeUndefined();
      // The path is free again.
      await backend.put('locks/l1', text('again'));
      expect(new TextDecoder().decode(await backend.get('locks/l1'))).toBe('again');
    }, timeout);

    test('paths that escape the store are refused', async () => {
      for (const bad of ['', '/abs', '../up', 'a/../b', 'a//b', './a']) {
        await expect(backend.put(bad, text('x'))).rejects.toMatchObject({ code: 'INVALID_INPUT' });
      }
    }, timeout);

    test(`a big object (${bigSize} bytes) round-trips`, async () => {
      const data = prng(3)(bigSize);
      await backend.put('packs/bb/big', data);
      expect(await backend.stat('packs/bb/big')).toMatchObject({ path: 'packs/bb/big', size: bigSize });
      expect(sha(await backend.get('packs/bb/big'))).toBe(sha(data));
      const tail = await backend.get('packs/bb/big', { offset: bigSize - 1000, length: 1000 });
      expect(Buffer.from(tail).equals(data.subarray(bigSize - 1000))).toBe(true);
    }, timeout);

    test('concurrent puts and gets of distinct objects', async () => {
      const rnd = prng(4);
      const items = Array.from({ length: 40 }, (_, i) => ({ path: `packs/${(i % 4).toString(16).padStart(2, '0')}/obj${i}`, data: rnd(1000 + i * 37) }));
      await Promise.all(items.map((x) => backend.put(x.path, x.data)));
      const back = await Promise.all(items.map((x) => backend.get(x.path)));
      back.forEach((b, i) => expect(Buffer.from(b).equals(items[i].data)).toBe(true));
      expect((await collect(backend.list('packs'))).length).toBe(40);
    }, timeout);

    test('concurrent puts of the same path: one at least wins, the others see ObjectExistsError', async () => {
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => backend.put('snapshots/same', text('same'))));
      expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ObjectExistsError);
      expect(new TextDecoder().decode(await backend.get('snapshots/same'))).toBe('same');
    }, timeout);

    const drafts = options.drafts ? describe : describe.skip;
    drafts('drafts (objects written in pieces)', () => {
      const draftOf = async (): Promise<ObjectDraft> => {
        expect(backend.draft).toBeDefined();
        return (backend.draft as NonNullable<Backend['draft']>)('a test object');
      };
      const leftovers = async (): Promise<ObjectInfo[]> => collect(backend.list(TMP_DIR));

      test('pieces written then committed are one object, readable whole and by range; no temporary file stays', async () => {
        const data = prng(7)(3 * 1024 * 1024 + 17);
        const draft = await draftOf();
        const piece = Buffer.alloc(1 << 20);
        for (let at = 0; at < data.length; at += piece.length) {
          const n = Math.min(piece.length, data.length - at);
          piece.set(data.subarray(at, at + n));
          await draft.write(piece.subarray(0, n));
          piece.fill(0xee); // the caller may reuse what it wrote once write() settled
        }
        expect(await backend.stat('packs/dd/drafted')).toBeUndefined();
        await draft.commit('packs/dd/drafted');
        await draft.discard();
        expect(sha(await backend.get('packs/dd/drafted'))).toBe(sha(data));
        expect(Buffer.from(await backend.get('packs/dd/drafted', { offset: 1_500_000, length: 1000 }))).toEqual(data.subarray(1_500_000, 1_501_000));
        expect(await leftovers()).toEqual([]);
      }, timeout);

      test('a draft never replaces an object: committing onto an existing path throws ObjectExistsError', async () => {
        await backend.put('packs/dd/taken', text('first'));
        const draft = await draftOf();
        await draft.write(text('second'));
        await expect(draft.commit('packs/dd/taken')).rejects.toBeInstanceOf(ObjectExistsError);
        await draft.discard();
        expect(new TextDecoder().decode(await backend.get('packs/dd/taken'))).toBe('first');
        expect(await leftovers()).toEqual([]);
      }, timeout);

      test('a discarded draft leaves nothing, and discarding twice is harmless', async () => {
        const draft = await draftOf();
        await draft.write(prng(8)(100_000));
        expect((await leftovers()).length).toBe(1);
        await draft.discard();
        await draft.discard();
        expect(await leftovers()).toEqual([]);
        expect(await collect(backend.list('packs'))).toEqual([]);
      }, timeout);

      test('a draft committed under an invalid path is refused, typed', async () => {
        const draft = await draftOf();
        await draft.write(text('x'));
        await expect(draft.commit('../outside')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
        await draft.discard();
        expect(await leftovers()).toEqual([]);
      }, timeout);
    });
  });
}
