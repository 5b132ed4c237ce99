import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type OpenAI from 'openai';
import { z } from 'zod';
import type { SemanticConfig } from '../../../schemas/config/dedup.js';
import { sha256 } from '../../core/hash.js';
import { UserError } from '../../core/errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { scrubUrl, scrubUrlsInText, splitEndpoint } from '../../core/endpoint.js';
import { loadOpenAI } from '../../teacher/client.js';

/** What an OpenAI-compatible /v1/embeddings reply must hold; anything else is refused, not guessed. */
const EmbeddingsReply = z.object({
  data: z.array(z.object({ index: z.number().int().nonnegative(), embedding: z.array(z.number()).min(1) })),
});

export interface EmbedStats {
  requested: number;
  cache_hits: number;
  fetched: number;
  requests: number;
}

function unit(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

/**
 * Embeds texts through any OpenAI-compatible endpoint. Each vector is cached on disk under the hash
 * of (model, dimensions, text), written atomically, so a rerun or a run killed halfway pays only
 * for what it has not fetched yet. Vectors come back unit length.
 */
export class Embedder {
  /** Created on the first request: the SDK is imported on first use (src/teacher/client.ts, loadOpenAI). */
  private readonly client: () => Promise<OpenAI>;
  /** The endpoint as it may be shown: no credentials, no query. */
  private readonly where: string;
  readonly stats: EmbedStats = { requested: 0, cache_hits: 0, fetched: 0, requests: 0 };

  constructor(
    private readonly cfg: SemanticConfig,
    private readonly cacheDir: string,
  ) {
    if (!cfg.base_url || !cfg.model) {
      throw new UserError('dedup.semantic is enabled but dedup.semantic.base_url or dedup.semantic.model is not set.');
    }
    this.where = scrubUrl(cfg.base_url);
    const endpoint = splitEndpoint(cfg.base_url);
    if (endpoint.hasCredentials) {
      throw new UserError(`dedup.semantic.base_url (${this.where}) holds user:password@, which HTTP clients refuse to send; put the key in the environment variable named by dedup.semantic.api_key_env instead.`);
    }
    // Local servers often need no key; the SDK insists on one, so a placeholder stands in.
    const apiKey = process.env[cfg.api_key_env] || 'not-needed';
    // A query (Azure's ?api-version=) goes with every request; the SDK would glue paths after it.
    const defaultQuery = Object.keys(endpoint.query).length ? { defaultQuery: endpoint.query } : {};
    let client: Promise<OpenAI> | null = null;
    this.client = () => (client ??= loadOpenAI().then(({ default: OpenAI }) => new OpenAI({ baseURL: endpoint.baseURL, ...defaultQuery, apiKey, maxRetries: 3, timeout: 120_000 })));
    const secrets = [apiKey, ...endpoint.secrets].filter((x) => x.length >= 4);
    this.redact = (text) => scrubUrlsInText(secrets.reduce((t, x) => t.split(x).join('[redacted]'), text));
  }

  private readonly redact: (text: string) => string;

  private cachePath(text: string): string {
    const key = sha256(JSON.stringify([this.cfg.model, this.cfg.dimensions, text]));
    return join(this.cacheDir, key.slice(0, 2), `${key}.f32`);
  }

  private async fromCache(path: string): Promise<Float32Array | null> {
    const buf = await readFile(path).catch(() => null);
    // A short or odd-sized file is a leftover of something broken: fetch again rather than trust it.
    if (!buf || buf.byteLength === 0 || buf.byteLength % 4 !== 0) return null;
    const copy = new Uint8Array(buf.byteLength);
    copy.set(buf);
    return new Float32Array(copy.buffer);
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    this.stats.requested += texts.length;
    const out = new Array<Float32Array | null>(texts.length).fill(null);
    const paths = texts.map((t) => this.cachePath(t));
    const missing: number[] = [];
    for (let i = 0; i < texts.length; i++) {
      const v = await this.fromCache(paths[i]!);
      if (v) {
        out[i] = v;
        this.stats.cache_hits++;
      } else missing.push(i);
    }
    for (let start = 0; start < missing.length; start += this.cfg.batch_size) {
      const batch = missing.slice(start, start + this.cfg.batch_size);
      const vectors = await this.request(batch.map((i) => texts[i]!));
      for (let j = 0; j < batch.length; j++) {
        const i = batch[j]!;
        const v = vectors[j]!;
        await writeFileAtomic(paths[i]!, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
        out[i] = v;
        this.stats.fetched++;
      }
    }
    return out.map((v) => unit(Float32Array.from(v!)));
  }

  private async request(input: string[]): Promise<Float32Array[]> {
    this.stats.requests++;
    let reply: unknown;
    const client = await this.client();
    try {
      reply = await client.embeddings.create({
        model: this.cfg.model!,
        input,
        // Plain floats: every compatible server speaks them (the SDK would otherwise ask for base64).
        encoding_format: 'float',
        ...(this.cfg.dimensions ? { dimensions: this.cfg.dimensions } : {}),
      });
    } catch (err) {
      throw new UserError(`dedup.semantic: the embeddings request to ${this.where} failed: ${this.redact((err as Error).message)}`);
    }
    const parsed = EmbeddingsReply.safeParse(reply);
    if (!parsed.success) {
      throw new UserError(`dedup.semantic: ${this.where} sent an embeddings reply of the wrong shape (${parsed.error.issues[0]?.message}).`);
    }
    const byIndex = new Map(parsed.data.data.map((d) => [d.index, d.embedding]));
    return input.map((_, i) => {
      const e = byIndex.get(i);
      if (!e) throw new UserError(`dedup.semantic: ${this.where} returned no embedding for input ${i} of ${input.length}.`);
      return Float32Array.from(e);
    });
  }
}
