/**
 * qcow2Range: any byte range of the planned image, built on its own, is the same bytes as that
 * range of the whole stream (which qemu-img checks in writer.test.ts), whatever the split points:
 * inside the header, the L1 or refcount clusters, an L2 table, a data cluster, across runs.
 */
import { Buffer } from 'node:buffer';
import { planQcow2, qcow2Range, qcow2Stream } from '../../../engine/qcow2';
import { baseDisk, collect, KiB, memorySource, MiB, prng } from './helpers';

async function bytes(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  return Buffer.concat(await collect(it));
}

test('every range of the image equals that slice of the whole stream', async () => {
  const disk = baseDisk();
  // 4 KiB clusters: several L1-mapped L2 tables, many data runs, a multi-cluster metadata area.
  const source = memorySource(disk);
  const plan = await planQcow2(source, { clusterSize: 4 * KiB });
  const whole = await bytes(qcow2Stream(source, { plan }));
  expect(whole.length).toBe(plan.length);
  const cs = plan.clusterSize;
  const dataOffset = plan.layout.dataOffset;
  const points = [0, 1, cs - 1, cs, cs + 7, dataOffset - cs - 3, dataOffset - 1, dataOffset, dataOffset + 1, dataOffset + cs * 5 + 11, plan.length - cs - 1, plan.length - 1, plan.length];
  const rnd = prng(7);
  for (let i = 0; i < 40; i++) points.push(rnd() % (plan.length + 1));
  const inside = points.filter((p) => p >= 0 && p <= plan.length);
  expect(inside.length).toBeGreaterThan(40);
  for (const a of inside) {
    for (const b of inside) {
      if (b < a || b - a > 3 * MiB) continue;
      const got = await bytes(qcow2Range(source, plan, a, b));
      if (!got.equals(whole.subarray(a, b))) throw new Error(`range ${a}-${b} differs from the stream's bytes`);
    }
  }
});

test('consecutive parts of any size concatenate to the whole image, and a part built twice is the same', async () => {
  const disk = baseDisk();
  const source = memorySource(disk);
  const plan = await planQcow2(source);
  const whole = await bytes(qcow2Stream(source, { plan }));
  for (const part of [65_537, 1 * MiB, 5 * MiB + 3]) {
    const pieces: Buffer[] = [];
    for (let at = 0; at < plan.length; at += part) pieces.push(await bytes(qcow2Range(source, plan, at, Math.min(plan.length, at + part))));
    expect(Buffer.concat(pieces).equals(whole)).toBe(true);
  }
  const again = await bytes(qcow2Range(source, plan, 1 * MiB, 3 * MiB));
  expect(again.equals(whole.subarray(1 * MiB, 3 * MiB))).toBe(true);
});

test('a range outside the image, or a plan of another disk, is refused by name', async () => {
  const source = memorySource(baseDisk());
  const plan = await planQcow2(source);
  await expect(collect(qcow2Range(source, plan, 0, plan.length + 1))).rejects.toThrow(/is not within the \d+-byte QCOW2 image/);
  await expect(collect(qcow2Range(source, plan, 10, 5))).rejects.toThrow(/is not within/);
  await expect(collect(qcow2Range(memorySource(Buffer.alloc(4096)), plan, 0, 10))).rejects.toThrow(/was made for a \d+-byte disk/);
});
