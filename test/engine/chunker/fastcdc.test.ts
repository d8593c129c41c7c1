import { FastCdc } from '../../../engine/chunker/fastcdc';
import { prng } from '../../helpers';

function cuts(data: Buffer, cdc: FastCdc, step = data.length): number[] {
  const out: number[] = [];
  let start = 0;
  cdc.reset();
  for (let w = 0; w < data.length; w += step) {
    let p = w;
    const end = Math.min(data.length, w + step);
    while (p < end) {
      const c = cdc.next(data, p, end);
      if (c < 0) break;
      out.push(c - start);
      start = c;
      p = c;
    }
  }
  if (start < data.length) out.push(data.length - start);
  return out;
}

const MIN = 2048;
const AVG = 8192;
const MAX = 32768;

it('cuts within [min, max] with an average near the target', () => {
  const data = prng(5)(4 << 20);
  const sizes = cuts(data, new FastCdc(MIN, AVG, MAX));
  for (const s of sizes.slice(0, -1)) {
    expect(s).toBeGreaterThanOrEqual(MIN);
    expect(s).toBeLessThanOrEqual(MAX);
  }
  const mean = data.length / sizes.length;
  expect(mean).toBeGreaterThan(AVG * 0.6);
  expect(mean).toBeLessThan(AVG * 1.6);
});

it('finds the same boundaries whatever the window size (state carries across windows)', () => {
  const data = prng(6)(1 << 20);
  const whole = cuts(data, new FastCdc(MIN, AVG, MAX));
  expect(cuts(data, new FastCdc(MIN, AVG, MAX), 1000)).toEqual(whole);
  expect(cuts(data, new FastCdc(MIN, AVG, MAX), 77777)).toEqual(whole);
});

it('resynchronises after an insertion: most chunks are unchanged', () => {
  const data = prng(7)(1 << 20);
  const shifted = Buffer.concat([data.subarray(0, 100000), Buffer.from('inserted bytes'), data.subarray(100000)]);
  const a = cuts(data, new FastCdc(MIN, AVG, MAX));
  const b = cuts(shifted, new FastCdc(MIN, AVG, MAX));
  const tail = (s: number[]) => s.slice(-Math.floor(s.length / 2)).join(',');
  expect(tail(b)).toBe(tail(a));
});
