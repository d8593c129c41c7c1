import { ClusterBitmap } from '../../../engine/qcow2/bitmap';
import { prng } from '../../helpers';

test('ranker gives each set bit the number of set bits before it', () => {
  const rnd = prng(11);
  const bitmap = new ClusterBitmap(1003);
  const bytes = rnd(1003);
  for (let i = 0; i < 1003; i++) if (bytes[i] < 90) bitmap.setRange(i, i + 1);
  bitmap.setRange(500, 640); // a run crossing whole bytes
  const rank = bitmap.ranker();
  let before = 0;
  for (let i = 0; i < bitmap.length; i++) {
    if (!bitmap.get(i)) continue;
    expect(rank(i)).toBe(before);
    before++;
  }
  expect(before).toBe(bitmap.count());
});

test('selector finds the set bit of each rank, across prefix blocks, and -1 past the last', () => {
  const rnd = prng(12);
  // 5000 bytes of bitmap: several 64-byte prefix blocks, some of them empty.
  const bitmap = new ClusterBitmap(40_003);
  const bytes = rnd(40_003);
  for (let i = 0; i < 40_003; i++) if (bytes[i] < 40 && (i < 9_000 || i > 20_000)) bitmap.setRange(i, i + 1);
  bitmap.setRange(30_000, 31_000);
  const select = bitmap.selector();
  const rank = bitmap.ranker();
  let r = 0;
  for (let i = 0; i < bitmap.length; i++) {
    if (!bitmap.get(i)) continue;
    expect(select(r)).toBe(i);
    expect(rank(select(r))).toBe(r);
    r++;
  }
  expect(select(r)).toBe(-1);
  expect(select(-1)).toBe(-1);
  expect(new ClusterBitmap(0).selector()(0)).toBe(-1);
});
