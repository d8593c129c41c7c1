import { FsBackend } from '../../../engine/store/backends/fs';
import type { Backend } from '../../../engine/store/backend';
import { tempDir } from '../../helpers';
import { describeBackendContract } from './backend-contract';

const dirs = new Map<Backend, () => Promise<void>>();

describeBackendContract(
  'FsBackend',
  async () => {
    const dir = await tempDir('scwb-fs-backend-');
    const backend = await FsBackend.open(dir.path);
    dirs.set(backend, dir.cleanup);
    return backend;
  },
  async (backend) => {
    await backend.close();
    await dirs.get(backend)?.();
    dirs.delete(backend);
  },
);

test('FsBackend reads a range into the buffer it is given', async () => {
  const dir = await tempDir('scwb-fs-into-');
  const backend = await FsBackend.open(dir.path);
  try {
    await backend.put('packs/ab/x', Buffer.from('0123456789'));
    const into = new Uint8Array(new SharedArrayBuffer(64), 8, 16);
    const got = await backend.get('packs/ab/x', { offset: 2, length: 5, into });
    expect(got.buffer).toBe(into.buffer);
    expect(got.byteOffset).toBe(8);
    expect(Buffer.from(got).toString()).toBe('23456');
  } finally {
    await backend.close();
    await dir.cleanup();
  }
});
