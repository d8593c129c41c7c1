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
  { drafts: true },
);
