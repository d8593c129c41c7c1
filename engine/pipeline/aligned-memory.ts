/**
 * Page-aligned shared memory for the buffers the kernel copies file data into.
 *
 * Why: the kernel copies a read() into user memory with `rep movsb`, which on this machine's AMD
 * EPYC runs ~5x slower when the destination is not 64-byte aligned (bench/README.md, "Measurements
 * behind the design": 1.46 GiB from the page cache into a 4 MiB buffer took 0.83-0.93 s at a
 * 16-byte offset, 0.18-0.20 s at a 0 or 64-byte offset). malloc, and so Node's Buffers and
 * SharedArrayBuffers, give 16-byte alignment; JavaScript cannot see an address to correct it. A shared WebAssembly memory is
 * mapped by V8 itself and starts on a page boundary (WebAssembly JS API: its buffer is a
 * SharedArrayBuffer when `shared` is set), so every part carved from it at a multiple of
 * ALIGNMENT is aligned too.
 */
export const ALIGNMENT = 4096;
const WASM_PAGE = 65536;

/** The part of the WebAssembly JS API used here (TypeScript's lib for Node does not declare it). */
interface WasmMemoryConstructor {
  new (descriptor: { initial: number; maximum: number; shared: boolean }): { readonly buffer: SharedArrayBuffer };
}
const WasmMemory = (globalThis as unknown as { WebAssembly: { Memory: WasmMemoryConstructor } }).WebAssembly.Memory;

/** Round `n` up to a multiple of ALIGNMENT. */
export function alignUp(n: number): number {
  return Math.ceil(n / ALIGNMENT) * ALIGNMENT;
}

/**
 * A SharedArrayBuffer of at least `bytes` whose start is page-aligned. Falls back to a plain
 * SharedArrayBuffer (correct, only slower to read into) where V8 refuses the WebAssembly memory,
 * e.g. under a virtual memory limit (it reserves address space for guard pages) or beyond 4 GiB.
 */
export function alignedShared(bytes: number): SharedArrayBuffer {
  const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE));
  try {
    return new WasmMemory({ initial: pages, maximum: pages, shared: true }).buffer;
  } catch (err) {
    if (err instanceof RangeError) return new SharedArrayBuffer(Math.max(bytes, 8));
    throw err;
  }
}
