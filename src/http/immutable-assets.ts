import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Request, Response } from 'express';

const gzipAsync = promisify(gzip);

/** A file served under a name that never changes content (versioned or hashed), kept in memory. */
export interface ImmutableAsset {
  type: string;
  body: Buffer;
  gzipped: Buffer;
}

/**
 * Assets by name, each read and gzipped once. `read` answers undefined (or fails) for a name it does
 * not serve; such a miss is not remembered, so a file that appears later (a fresh build) is found.
 */
export class ImmutableAssets {
  private readonly loaded = new Map<string, Promise<ImmutableAsset | undefined>>();

  constructor(private readonly read: (name: string) => Promise<{ type: string; body: Buffer } | undefined>) {}

  get(name: string): Promise<ImmutableAsset | undefined> {
    let asset = this.loaded.get(name);
    if (!asset) {
      asset = this.load(name);
      void asset.then(
        (found) => found || this.loaded.delete(name),
        () => this.loaded.delete(name),
      );
      this.loaded.set(name, asset);
    }
    return asset;
  }

  private async load(name: string): Promise<ImmutableAsset | undefined> {
    const file = await this.read(name);
    return file && { ...file, gzipped: await gzipAsync(file.body, { level: 9 }) };
  }
}

/** Sends the asset, gzipped when the client takes it, cached for a year. */
export function sendImmutable(req: Request, res: Response, asset: ImmutableAsset): void {
  const gzipped = req.acceptsEncodings('gzip', 'identity') === 'gzip';
  res.set({
    'Content-Type': asset.type,
    'Cache-Control': 'public, max-age=31536000, immutable',
    'X-Content-Type-Options': 'nosniff',
    Vary: 'Accept-Encoding',
  });
  if (gzipped) res.set('Content-Encoding', 'gzip');
  // res.send sets a (per-encoding) ETag and answers 304 when the client already has it.
  res.send(gzipped ? asset.gzipped : asset.body);
}
