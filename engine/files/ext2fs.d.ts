/**
 * The part of the `ext2fs` package (libext2fs compiled to WebAssembly, node-ext2fs) that
 * engine/files/ext-fs.ts uses. The package ships JavaScript without types.
 */
declare module 'ext2fs' {
  /** The disk libext2fs reads through: offsets are the disk's, the mount offset already added. */
  export interface Ext2Disk {
    read(buffer: Buffer, bufferOffset: number, length: number, fileOffset: number): Promise<unknown>;
    write(buffer: Buffer, bufferOffset: number, length: number, fileOffset: number): Promise<unknown>;
    discard(offset: number, length: number): Promise<unknown>;
    flush(): Promise<unknown>;
  }
  export interface Ext2Stats {
    mode: number;
    nlink: number;
    uid: number;
    gid: number;
    size: number;
    blocks: number;
    ino: number;
    atime: Date;
    mtime: Date;
    ctime: Date;
  }
  export interface Ext2Promises {
    /** 4.2.5 returns strings whatever `encoding` says (ext-fs.ts utf8()). */
    readdir(path: string, options: { encoding: 'buffer' }): Promise<Array<Buffer | string>>;
    lstat(path: string): Promise<Ext2Stats>;
    readlink(path: string, options: { encoding: 'buffer' }): Promise<Buffer | string>;
    open(path: string, flags: number): Promise<{ fd: number }>;
    read(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
    close(fd: number): Promise<void>;
  }
  export interface Ext2Fs {
    promises: Ext2Promises;
  }
  export function mount(disk: Ext2Disk, offset?: number): Promise<Ext2Fs>;
  export function umount(fs: Ext2Fs): Promise<void>;
}
