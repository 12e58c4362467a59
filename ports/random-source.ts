/**
 * Uniform random integers for the noise samplers, from node:crypto (the requirement: no
 * PostgreSQL random(), no Math.random). Bytes are drawn in blocks: a sampler needs a few bytes per
 * Bernoulli trial, and one randomFillSync per trial would dominate its cost.
 */
import { randomFillSync } from 'node:crypto';

export interface RandomSource {
  /** A uniform integer in [0, n), n >= 1. */
  below(n: bigint): bigint;
}

const BLOCK = 4096;

export class CryptoRandom implements RandomSource {
  private readonly pool = Buffer.alloc(BLOCK);
  private used = BLOCK;

  below(n: bigint): bigint {
    if (n < 1n) throw new Error('range must be at least 1');
    if (n === 1n) return 0n;
    const bits = (n - 1n).toString(2).length;
    const bytes = Math.ceil(bits / 8);
    const excess = BigInt(bytes * 8 - bits);
    // Rejection sampling on the smallest power of two covering n: exact uniformity, fewer than
    // two draws on average.
    for (;;) {
      let value = 0n;
      for (let i = 0; i < bytes; i++) value = (value << 8n) | BigInt(this.byte());
      value >>= excess;
      if (value < n) return value;
    }
  }

  private byte(): number {
    if (this.used === BLOCK) {
      randomFillSync(this.pool);
      this.used = 0;
    }
    return this.pool[this.used++]!;
  }
}
