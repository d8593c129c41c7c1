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
