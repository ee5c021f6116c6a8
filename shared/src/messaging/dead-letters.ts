// Operator tools for the dead-letter queues: see what was dead-lettered and why, put messages back on
// their queue (the consumer's inbox makes a replay of an applied message harmless), or drop them.
import amqplib, { type ConfirmChannel, type GetMessage } from 'amqplib';
import { deadLetterQueue, QUEUES } from './topology';

/** Header the consumer sets when it republishes a failed message: the error of the last attempt. */
export const LAST_ERROR_HEADER = 'x-taskflow-last-error';
export const ATTEMPT_HEADER = 'x-taskflow-attempt';

export interface DeadLetter {
  queue: string;
  message_id: string | null;
  type: string | null;
  /** Why it was dead-lettered: the consumer's last handler error, or that the body is not an event. */
  reason: string;
  attempts: number;
  dead_lettered_at: string | null;
  /** The message body as text (a malformed one included). */
  body: string;
}

export interface DeadLetterSelection {
  /** Only these message ids (default: all). */
  ids?: readonly string[];
}

interface XDeath {
  reason?: string;
  time?: { value?: number } | Date | number;
  count?: number;
}

function deathTime(death: XDeath | undefined): string | null {
  const time = death?.time;
  if (time === undefined) return null;
  const seconds = typeof time === 'number' ? time : time instanceof Date ? time.getTime() / 1000 : time.value;
  return typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : null;
}

function describe(queue: string, msg: GetMessage): DeadLetter {
  const headers = msg.properties.headers ?? {};
  const body = msg.content.toString('utf8');
  let type: string | null = null;
  let parsed = false;
  try {
    const value = JSON.parse(body) as { type?: unknown };
    parsed = true;
    if (typeof value?.type === 'string') type = value.type;
  } catch {
    /* malformed: reported as such below */
  }
  const death = (headers['x-death'] as XDeath[] | undefined)?.[0];
  const lastError = headers[LAST_ERROR_HEADER];
  const reason = !parsed || type === null
    ? 'malformed: the body is not a TaskFlow event'
    : typeof lastError === 'string' && lastError !== ''
      ? `handler failed: ${lastError}`
      : `rejected by the consumer (${death?.reason ?? 'unknown'})`;
  return {
    queue,
    message_id: typeof msg.properties.messageId === 'string' ? msg.properties.messageId : null,
    type,
    reason,
    attempts: Number(headers[ATTEMPT_HEADER] ?? 1),
    dead_lettered_at: deathTime(death),
    body,
  };
}

/** The consumer queues that have a dead-letter queue. */
export const deadLetterQueues = (): string[] => Object.values(QUEUES).map((q) => q.name);

function assertKnownQueue(queue: string): void {
  if (!deadLetterQueues().includes(queue)) {
    throw new Error(`Unknown queue '${queue}': one of ${deadLetterQueues().join(', ')}`);
  }
}

/**
 * Takes every message of `queue`'s dead-letter queue unacknowledged (so nobody else sees them meanwhile),
 * lets `decide` settle the chosen ones, and returns the rest to the queue in their order.
 */
async function withDeadLetters<T>(
  amqpUrl: string,
  queue: string,
  decide: (channel: ConfirmChannel, taken: Array<{ msg: GetMessage; letter: DeadLetter }>) => Promise<T>,
): Promise<T> {
  assertKnownQueue(queue);
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    const dlq = deadLetterQueue(queue);
    const { messageCount } = await channel.checkQueue(dlq);
    const taken: Array<{ msg: GetMessage; letter: DeadLetter }> = [];
    // Bounded by the count seen at the start: messages dead-lettered meanwhile wait for the next run.
    for (let i = 0; i < messageCount; i += 1) {
      const msg = await channel.get(dlq, { noAck: false });
      if (msg === false) break;
      taken.push({ msg, letter: describe(queue, msg) });
    }
    const result = await decide(channel, taken);
    // Whatever `decide` did not ack goes back, in order.
    await channel.close();
    return result;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

const selected = (letter: DeadLetter, selection: DeadLetterSelection) =>
  !selection.ids || (letter.message_id !== null && selection.ids.includes(letter.message_id));

/** Every message in `queue`'s dead-letter queue, oldest first; the queue is left as it was. */
export function listDeadLetters(amqpUrl: string, queue: string): Promise<DeadLetter[]> {
  return withDeadLetters(amqpUrl, queue, async (_channel, taken) => taken.map((t) => t.letter));
}

/** The dead-lettered message with this id in any dead-letter queue, or undefined. */
export async function findDeadLetter(amqpUrl: string, messageId: string): Promise<DeadLetter | undefined> {
  for (const queue of deadLetterQueues()) {
    const found = (await listDeadLetters(amqpUrl, queue)).find((l) => l.message_id === messageId);
    if (found) return found;
  }
  return undefined;
}

/**
 * Puts the selected messages back on their queue with a fresh attempt count, confirmed by the broker
 * before they leave the dead-letter queue (a crash in between leaves a copy in both: the inbox dedups).
 */
export function replayDeadLetters(amqpUrl: string, queue: string, selection: DeadLetterSelection = {}): Promise<DeadLetter[]> {
  return withDeadLetters(amqpUrl, queue, async (channel, taken) => {
    const chosen = taken.filter((t) => selected(t.letter, selection));
    for (const { msg } of chosen) {
      const { [ATTEMPT_HEADER]: _attempt, [LAST_ERROR_HEADER]: _error, 'x-death': _death, 'x-first-death-exchange': _e, 'x-first-death-queue': _q, 'x-first-death-reason': _r, ...headers } =
        msg.properties.headers ?? {};
      channel.sendToQueue(queue, msg.content, {
        messageId: msg.properties.messageId,
        contentType: msg.properties.contentType,
        type: msg.properties.type,
        timestamp: msg.properties.timestamp,
        persistent: true,
        headers,
      });
    }
    await channel.waitForConfirms();
    for (const { msg } of chosen) channel.ack(msg);
    return chosen.map((t) => t.letter);
  });
}

/** Deletes the selected messages from the dead-letter queue for good. */
export function dropDeadLetters(amqpUrl: string, queue: string, selection: DeadLetterSelection = {}): Promise<DeadLetter[]> {
  return withDeadLetters(amqpUrl, queue, async (channel, taken) => {
    const chosen = taken.filter((t) => selected(t.letter, selection));
    for (const { msg } of chosen) channel.ack(msg);
    return chosen.map((t) => t.letter);
  });
}
