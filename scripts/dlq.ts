// `npm run dlq -- <command>`: see why events were dead-lettered and put them back once the cause is fixed.
//   list <queue>                  every dead-lettered message of that consumer queue, oldest first
//   show <message-id>             one message in full (body, reason, attempts), from any dead-letter queue
//   replay <queue> [--id <id>]... back onto <queue> (all, or only the given ids); the inbox applies each once
//   drop <queue> [--id <id>]...   delete for good (all, or only the given ids)
// The broker is AMQP_URL (default amqp://guest:guest@127.0.0.1:5672). Exit code 1 on a usage error.
import { deadLetterQueues, dropDeadLetters, findDeadLetter, listDeadLetters, replayDeadLetters, type DeadLetter } from '@taskflow/shared';

const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const usage = `usage: npm run dlq -- list <queue> | show <message-id> | replay <queue> [--id <id>]... | drop <queue> [--id <id>]...
queues: ${deadLetterQueues().join(', ')}`;

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function summary(letter: DeadLetter): string {
  return [letter.message_id ?? '(no id)', letter.type ?? '-', `attempts=${letter.attempts}`, letter.dead_lettered_at ?? '-', letter.reason].join('  ');
}

function ids(args: string[]): string[] | undefined {
  const found: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    if (args[i] !== '--id' || args[i + 1] === undefined) throw new Error(`unexpected argument '${args[i]}'`);
    found.push(args[i + 1]!);
    i += 1;
  }
  return found.length > 0 ? found : undefined;
}

async function main(argv: string[]): Promise<number> {
  const [command, target, ...rest] = argv;
  if (!command || !target) {
    out(usage);
    return 1;
  }
  switch (command) {
    case 'list': {
      const letters = await listDeadLetters(amqpUrl, target);
      for (const letter of letters) out(summary(letter));
      out(`${letters.length} message(s) in ${target}.dlq`);
      return 0;
    }
    case 'show': {
      const letter = await findDeadLetter(amqpUrl, target);
      if (!letter) {
        out(`no dead-lettered message with id ${target}`);
        return 1;
      }
      out(JSON.stringify(letter, null, 2));
      return 0;
    }
    case 'replay':
    case 'drop': {
      const selection = { ids: ids(rest) };
      const done = command === 'replay' ? await replayDeadLetters(amqpUrl, target, selection) : await dropDeadLetters(amqpUrl, target, selection);
      for (const letter of done) out(`${command === 'replay' ? 'replayed' : 'dropped'}  ${summary(letter)}`);
      out(`${done.length} message(s) ${command === 'replay' ? `put back on ${target}` : `dropped from ${target}.dlq`}`);
      return 0;
    }
    default:
      out(usage);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`dlq: ${err.message}\n${usage}\n`);
    process.exit(1);
  },
);
