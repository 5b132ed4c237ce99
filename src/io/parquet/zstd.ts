import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface ZstdSimple {
  compress(data: Uint8Array, level: number): Uint8Array;
  decompress(data: Uint8Array): Uint8Array;
}

let simple: Promise<ZstdSimple> | null = null;

/** zstd-codec (emscripten build of libzstd): Node 20 has no zlib zstd, and this needs no download or native build. */
function zstd(): Promise<ZstdSimple> {
  simple ??= new Promise((resolve) => {
    const { ZstdCodec } = require('zstd-codec') as { ZstdCodec: { run(cb: (z: { Simple: new () => ZstdSimple }) => void): void } };
    ZstdCodec.run((z) => resolve(new z.Simple()));
  });
  return simple;
}

export async function zstdCompressor(level: number): Promise<(input: Uint8Array) => Uint8Array> {
  const z = await zstd();
  return (input) => z.compress(input, level);
}

export async function zstdDecompressor(): Promise<(input: Uint8Array) => Uint8Array> {
  const z = await zstd();
  // Empty pages (all-null columns) decompress to nothing; zstd-codec returns undefined for them.
  return (input) => (input.length === 0 ? new Uint8Array(0) : (z.decompress(input) ?? new Uint8Array(0)));
}
