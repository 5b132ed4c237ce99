// Types of bin/bundle.mjs (plain JS so bin/trajpipe.js runs it without a loader), for the tests.
export declare const ROOT: string;
export declare const KEEP: number;
export declare const GRACE_MS: number;
export declare function bundleDir(root?: string): string;
export declare function sourceStamp(root?: string): string;
export declare function buildBundle(root: string, out: string): Promise<void>;
export declare function prune(dir: string, current: string, now?: number): void;
export declare function bundle(opts?: { root?: string; dir?: string }): Promise<{ cli: string; worker: string; dir: string; built: number | null }>;
