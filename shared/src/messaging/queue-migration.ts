// Moves queues declared before quorum queues (classic queues) to the declared topology. A queue cannot
// change type in place, so each one is drained into a temporary quorum queue that takes over its bindings,
// deleted, declared anew and refilled. Run with no consumer attached (`npm start` does it before starting
// the services; a deployment runs `npm run migrate:queues` with consumers scaled to zero). Producers may
// keep publishing: the temporary queue is bound before the old one is unbound. A crash part-way leaves
// the temporary queue, which the next run empties into the new queue.
import amqplib, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { Logger } from '../logging';
import { declareExchanges, type QueueDeclaration, queueDeclarations } from './topology';

export interface QueueMigration {
  queue: string;
  /** Messages carried over from the classic queue. */
  moved: number;
}

/** A channel that may die on a failed declaration; every probe gets a fresh one. */
async function probe<T>(model: ChannelModel, action: (channel: ConfirmChannel) => Promise<T>): Promise<T | 'not_found' | 'different'> {
  const channel = await model.createConfirmChannel();
  channel.on('error', () => undefined);
  try {
    return await action(channel);
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === 404) return 'not_found';
    if (code === 406) return 'different';
    throw err;
  } finally {
    await channel.close().catch(() => undefined);
  }
}

/** Moves every ready message from `from` to `to`, each confirmed by the broker before it leaves `from`. */
async function moveMessages(model: ChannelModel, from: string, to: string): Promise<number> {
  const channel = await model.createConfirmChannel();
  let moved = 0;
  try {
    for (;;) {
      const msg = await channel.get(from, { noAck: false });
      if (msg === false) break;
      const p = msg.properties;
      channel.sendToQueue(to, msg.content, {
        messageId: p.messageId,
        contentType: p.contentType,
        contentEncoding: p.contentEncoding,
        headers: p.headers,
        correlationId: p.correlationId,
        timestamp: p.timestamp,
        type: p.type,
        appId: p.appId,
        persistent: true,
      });
      await channel.waitForConfirms();
      channel.ack(msg);
      moved += 1;
    }
  } finally {
    await channel.close().catch(() => undefined);
  }
  return moved;
}

async function migrateOne(model: ChannelModel, queue: QueueDeclaration, logger?: Logger): Promise<QueueMigration | undefined> {
  const temporary = `${queue.name}.migrating`;
  const state = await probe(model, (ch) => ch.assertQueue(queue.name, queue.options));
  let moved = 0;
  if (state === 'different') {
    const existing = await probe(model, (ch) => ch.checkQueue(queue.name));
    if (existing !== 'not_found' && existing !== 'different' && existing.consumerCount > 0) {
      throw new Error(`queue ${queue.name} has ${existing.consumerCount} consumer(s): stop them before migrating it (their unacked messages would be lost)`);
    }
    await probe(model, async (ch) => {
      await ch.assertQueue(temporary, queue.options);
      for (const { exchange, pattern } of queue.bindings) await ch.bindQueue(temporary, exchange, pattern);
      for (const { exchange, pattern } of queue.bindings) await ch.unbindQueue(queue.name, exchange, pattern);
    });
    moved += await moveMessages(model, queue.name, temporary);
    await probe(model, (ch) => ch.deleteQueue(queue.name, { ifEmpty: true }));
    await probe(model, (ch) => ch.assertQueue(queue.name, queue.options));
    logger?.info({ queue: queue.name, moved }, 'classic queue drained and declared again as a quorum queue');
  }
  await probe(model, async (ch) => {
    for (const { exchange, pattern } of queue.bindings) await ch.bindQueue(queue.name, exchange, pattern);
  });
  // Left by this run or by one that stopped part-way: hand its messages back and remove it.
  const leftover = await probe(model, (ch) => ch.checkQueue(temporary));
  if (leftover !== 'not_found' && leftover !== 'different') {
    await probe(model, async (ch) => {
      for (const { exchange, pattern } of queue.bindings) await ch.unbindQueue(temporary, exchange, pattern);
    });
    const handedBack = await moveMessages(model, temporary, queue.name);
    // Only a crashed run's leftovers count as moved here; this run's were counted coming out of the classic queue.
    if (state !== 'different') moved += handedBack;
    // Quorum queues refuse `ifEmpty`: unbound and drained, it receives nothing more.
    await probe(model, (ch) => ch.deleteQueue(temporary));
  }
  return state === 'different' || leftover !== 'not_found' ? { queue: queue.name, moved } : undefined;
}

/** Brings every queue of the topology to its declared type and arguments; returns the queues it moved. */
export async function migrateQueues(amqpUrl: string, logger?: Logger): Promise<QueueMigration[]> {
  const model = await amqplib.connect(amqpUrl);
  model.on('error', (err: Error) => logger?.warn({ err: err.message }, 'queue migration connection error'));
  try {
    await probe(model, (ch) => declareExchanges(ch));
    const done: QueueMigration[] = [];
    for (const queue of queueDeclarations()) {
      const migrated = await migrateOne(model, queue, logger);
      if (migrated) done.push(migrated);
    }
    return done;
  } finally {
    await model.close().catch(() => undefined);
  }
}
