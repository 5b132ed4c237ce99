import { z } from 'zod';

/** A run's place in the global input order: [index of its file among the sorted inputs, file (only when not an input), record]. */
export const OrderKeySchema = z.tuple([z.number().int(), z.string(), z.number().int()]);

/** What the dedup map of one shard wrote (`<run>/shards/I-of-N/dedup-map/manifest.json`). */
export const DedupMapManifest = z
  .object({
    kind: z.literal('trajpipe-dedup-map'),
    version: z.string(),
    shard: z.object({ index: z.number().int(), count: z.number().int() }),
    /** The filter output the signatures were computed from. */
    input_fingerprint: z.string(),
    /** Hash of dedup's config slice: a change invalidates the map. */
    config_hash: z.string(),
    runs: z.number().int(),
    tasks: z.number().int(),
    embeddings: z.number().int(),
    files: z.array(z.object({ path: z.string(), bytes: z.number().int(), sha256: z.string() })),
    seconds: z.number(),
  })
  .strict();
export type DedupMapManifest = z.infer<typeof DedupMapManifest>;

/** One dropped run in a shard's decision file (runs not listed are kept). */
export const DedupDropLine = z
  .object({
    key: OrderKeySchema,
    id: z.string(),
    reason: z.string(),
    representative: z.string().nullable(),
    representative_task: z.string().nullable(),
    similarity: z.number().nullable(),
    cluster_id: z.string().nullable(),
  })
  .strict();
export type DedupDropLine = z.infer<typeof DedupDropLine>;

/** The reduce's decision (`<run>/dedup-reduce/manifest.json`), written last. */
export const DedupReduceManifest = z
  .object({
    kind: z.literal('trajpipe-dedup-reduce'),
    version: z.string(),
    shards: z.number().int(),
    config_hash: z.string(),
    maps: z.array(z.object({ shard: z.number().int(), input_fingerprint: z.string(), runs: z.number().int(), tasks: z.number().int() })),
    decisions: z.array(z.object({ shard: z.number().int(), path: z.string(), drops: z.number().int(), sha256: z.string() })),
    clusters: z.object({ path: z.string(), lines: z.number().int(), sha256: z.string() }),
    summary: z.record(z.string(), z.unknown()),
    semantic: z.record(z.string(), z.unknown()).nullable(),
    timings: z.object({ seconds: z.number(), peak_rss_bytes: z.number() }),
  })
  .strict();
export type DedupReduceManifest = z.infer<typeof DedupReduceManifest>;
