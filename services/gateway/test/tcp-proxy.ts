// A TCP proxy on 127.0.0.1 that a test can stall or cut, standing between a gateway and its Redis.
import net from 'node:net';

export interface TcpProxy {
  url: string;
  /** Stops passing bytes either way (connections stay open, unanswered), as a hung server would. */
  stall(): void;
  /** Closes every connection and refuses new ones, as a stopped server would. */
  cut(): Promise<void>;
  /** Passes bytes again (after `stall`) or listens again on the same port (after `cut`). */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }, scheme = 'redis'): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let stalled = false;
  const connect = ([client, upstream]: [net.Socket, net.Socket]) => {
    client.pipe(upstream);
    upstream.pipe(client);
  };
  // Unpiped and paused, each socket keeps what it receives until `restore` pipes it on.
  const disconnect = ([client, upstream]: [net.Socket, net.Socket]) => {
    client.unpipe(upstream);
    upstream.unpipe(client);
    client.pause();
    upstream.pause();
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    if (!stalled) connect(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const stopListening = () => new Promise<void>((resolve) => server.close(() => resolve()));
  await listen(0);
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    stall() {
      stalled = true;
      for (const pair of pairs) disconnect(pair);
    },
    async cut() {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      await stopListening();
    },
    async restore() {
      if (stalled) {
        stalled = false;
        for (const pair of pairs) connect(pair);
      }
      if (!server.listening) await listen(port);
    },
    async close() {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      if (server.listening) await stopListening();
    },
  };
}
