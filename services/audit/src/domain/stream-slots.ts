// At most N open streams per user in this process (STREAMS_PER_USER); the N+1st is refused with 429.
import { AppError } from '@taskflow/shared';

export class StreamSlots {
  private readonly open = new Map<string, number>();
  private total = 0;

  constructor(private readonly perUser: number) {}

  /** Takes a slot for `userId` or throws 429; the returned function gives it back (once). */
  take(userId: string): () => void {
    const count = this.open.get(userId) ?? 0;
    if (count >= this.perUser) {
      throw new AppError(429, 'too_many_streams', `At most ${this.perUser} open streams per user; close one first.`, undefined, { 'Retry-After': '5' });
    }
    this.open.set(userId, count + 1);
    this.total += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const left = (this.open.get(userId) ?? 1) - 1;
      if (left === 0) this.open.delete(userId);
      else this.open.set(userId, left);
    };
  }

  /** Streams open in this process. */
  get size(): number {
    return this.total;
  }
}
