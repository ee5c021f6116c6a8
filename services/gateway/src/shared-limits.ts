// Rate limits shared by every gateway through Redis, falling back to each gateway's memory while Redis cannot answer.
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from '@taskflow/shared';
import Redis, { type Result } from 'ioredis';
import { type LimitDecision, type RateLimiter, SlidingWindowLimiter } from './rate-limit';

/**
 * The in-memory limiter's sliding window, as one atomic step on Redis's clock (the same for every
 * gateway): drop the hits that left the window, then refuse without counting, or count this hit.
 * A sorted set per key: score = time of the hit in ms, member = the hit's id (to give it back).
 */
const TAKE_HIT_LUA = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local freeing = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  return {0, tonumber(freeing[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    takeSlidingWindowHit(key: string, windowMs: number, limit: number, hitId: string): Result<[number, number], Context>;
  }
}

export type LimitBackendName = 'redis' | 'memory';

export interface SharedLimitStoreOptions {
  url: string;
  /** Prepended to every key, so several deployments (or test files) can share one Redis. */
  keyPrefix: string;
  logger: Logger;
  /** A command not answered within this (default 1 s: room for a loaded machine) counts as Redis being unreachable. */
  commandTimeoutMs?: number;
  /** How often Redis is asked again while the limits live in memory. */
  probeIntervalMs?: number;
}

/**
 * One Redis connection for all of a gateway's limits, and whether they may use it: any failed
 * command moves every limit to memory at once (logged once), and a probe moves them back as soon as
 * Redis answers again. Never fails open: a refused or unanswered command is counted in memory.
 */
export class SharedLimitStore {
  private readonly client: Redis;
  private readonly probeIntervalMs: number;
  private usingRedis = false;
  private probe?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: SharedLimitStoreOptions) {
    this.probeIntervalMs = options.probeIntervalMs ?? 500;
    this.client = new Redis(options.url, {
      lazyConnect: true,
      // Commands fail at once while disconnected (counted in memory) instead of waiting in a queue.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      connectTimeout: 1000,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    });
    this.client.defineCommand('takeSlidingWindowHit', { numberOfKeys: 1, lua: TAKE_HIT_LUA });
    this.client.on('ready', () => this.markUp());
    this.client.on('close', () => this.markDown('connection closed'));
    // Reconnection is ioredis's; its errors are reported through markDown, once per outage.
    this.client.on('error', () => undefined);
  }

  get backend(): LimitBackendName {
    return this.usingRedis ? 'redis' : 'memory';
  }

  /** Connects, waiting at most `timeoutMs`; still unreachable then, the limits start in memory and move once it answers. */
  async connect(timeoutMs = 2000): Promise<void> {
    this.markDown('not connected yet');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    // Settles on 'ready', or on the first failed attempt (a refused port need not cost the whole wait).
    await Promise.race([this.client.connect().catch(() => undefined), deadline]);
    clearTimeout(timer);
  }

  /** A limiter named `name` (part of its keys) that counts in Redis while it answers, else in `memory`. */
  limiter(name: string, limit: number, windowMs: number, memory: SlidingWindowLimiter): RateLimiter {
    return new FailoverLimiter(this, name, limit, windowMs, memory);
  }

  /** Runs a Redis command when Redis is in use; undefined when it is not, or when this command failed (then it no longer is). */
  async attempt<T>(command: (client: Redis) => Promise<T>): Promise<T | undefined> {
    if (!this.usingRedis) return undefined;
    try {
      return await command(this.client);
    } catch (err) {
      this.markDown((err as Error).message);
      return undefined;
    }
  }

  /** Raw keys never reach Redis: they carry client addresses and emails. */
  key(name: string, key: string): string {
    return `${this.options.keyPrefix}${name}:${createHash('sha256').update(key).digest('base64url')}`;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.probe);
    this.client.disconnect();
  }

  private markUp(): void {
    if (this.closed || this.usingRedis) return;
    clearTimeout(this.probe);
    this.probe = undefined;
    this.usingRedis = true;
    this.options.logger.info({ rate_limit_backend: 'redis' }, 'rate limits shared through redis');
  }

  private markDown(reason: string): void {
    if (this.closed) return;
    if (this.usingRedis) {
      this.usingRedis = false;
      this.options.logger.warn({ rate_limit_backend: 'memory', reason }, 'redis unreachable: rate limits counted in this gateway\'s memory until it answers');
    }
    this.scheduleProbe();
  }

  /** While in memory, PING until Redis answers on a ready connection (a reconnect also ends it through 'ready'). */
  private scheduleProbe(): void {
    if (this.probe || this.closed) return;
    this.probe = setTimeout(async () => {
      this.probe = undefined;
      if (this.usingRedis || this.closed) return;
      const answered = this.client.status === 'ready' && (await this.client.ping().then(() => true, () => false));
      if (answered) this.markUp();
      else this.scheduleProbe();
    }, this.probeIntervalMs);
    this.probe.unref();
  }
}

/** Redis hits and memory hits are told apart by their id, so a hit is always given back where it was taken. */
const REDIS_HIT = 'r:';
const MEMORY_HIT = 'm:';

class FailoverLimiter implements RateLimiter {
  constructor(
    private readonly store: SharedLimitStore,
    private readonly name: string,
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly memory: SlidingWindowLimiter,
  ) {}

  async take(key: string): Promise<LimitDecision> {
    const hit = randomUUID();
    const shared = await this.store.attempt((client) => client.takeSlidingWindowHit(this.store.key(this.name, key), this.windowMs, this.limit, hit));
    if (shared) {
      const [allowed, retryAfterMs] = shared;
      return allowed === 1
        ? { allowed: true, retryAfterSeconds: 0, hit: REDIS_HIT + hit }
        : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
    }
    const local = await this.memory.take(key);
    return local.hit === undefined ? local : { ...local, hit: MEMORY_HIT + local.hit };
  }

  async release(key: string, hit: string): Promise<void> {
    if (hit.startsWith(MEMORY_HIT)) return this.memory.release(key, hit.slice(MEMORY_HIT.length));
    // Redis gone meanwhile: the hit stays counted until it leaves the window (never fewer limits).
    await this.store.attempt((client) => client.zrem(this.store.key(this.name, key), hit.slice(REDIS_HIT.length)));
  }

  async reset(key: string): Promise<void> {
    await this.memory.reset(key);
    await this.store.attempt((client) => client.del(this.store.key(this.name, key)));
  }

  close(): Promise<void> {
    return this.memory.close();
  }
}
