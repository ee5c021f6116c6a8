// SSRF defence: a webhook URL may only lead to the public internet. Checked when an endpoint is saved and
// again on every connection (the `lookup` handed to http.request resolves the name, refuses if any answer
// is internal, and connects to the very address it checked), so a DNS answer that changes later cannot
// reach the internal network. WEBHOOK_ALLOW_PRIVATE_NETWORKS lifts the address checks (development, tests).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Addresses that are not the public internet: loopback, private, link-local (cloud metadata), unique-local, and the rest of the special-purpose registry. */
const internal = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network", 0.0.0.0 reaches the local host
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT (and some clouds' metadata, 100.100.100.200)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, 169.254.169.254 metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  internal.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['::', 96], // IPv4-compatible (deprecated)
  ['64:ff9b::', 96], // NAT64: may embed any IPv4 address
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23], // IETF protocol assignments (Teredo, ORCHID...)
  ['2001:db8::', 32],
  ['2002::', 16], // 6to4: may embed any IPv4 address
  ['fc00::', 7], // unique-local (fd00:ec2::254 metadata too)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  internal.addSubnet(network, prefix, 'ipv6');
}

/** The eight 16-bit groups of an IPv6 literal (an embedded dotted IPv4 tail counts as two). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const front = parse(head);
  const back = parse(tail);
  return tail === undefined ? front : [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/** The IPv4 address an IPv4-mapped (`::ffff:127.0.0.1`, `::ffff:7f00:1`) or IPv4-translated IPv6 address stands for. */
function unmapped(address: string): string | undefined {
  const g = ipv6Groups(address);
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  const translated = g.slice(0, 4).every((x) => x === 0) && g[4] === 0xffff && g[5] === 0;
  if (!mapped && !translated) return undefined;
  return [g[6]! >> 8, g[6]! & 255, g[7]! >> 8, g[7]! & 255].join('.');
}

/** Whether `address` (an IP literal) is anything but a public internet address. */
export function isInternalAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return internal.check(bare, 'ipv4');
  if (family === 6) {
    const v4 = unmapped(bare);
    if (v4) return internal.check(v4, 'ipv4');
    return internal.check(bare, 'ipv6');
  }
  return true; // not an address at all: never trusted
}

export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

export class UnsafeUrlError extends Error {
  readonly code = 'unsafe_url';
}

export interface UrlGuardOptions {
  allowPrivateNetworks: boolean;
  /** Name resolution (tests substitute one that answers what they need). */
  resolve?: Resolver;
}

export class UrlGuard {
  private readonly resolve: Resolver;

  constructor(private readonly options: UrlGuardOptions) {
    this.resolve = options.resolve ?? systemResolver;
  }

  get allowPrivateNetworks(): boolean {
    return this.options.allowPrivateNetworks;
  }

  /**
   * Why `raw` may not be an endpoint URL, or undefined when it may. The WHATWG parser has already
   * turned decimal, octal and hexadecimal IPv4 spellings (`2130706433`, `0177.0.0.1`) into dotted form.
   */
  async problemWith(raw: string): Promise<string | undefined> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return 'Enter a valid URL.';
    }
    const schemes = this.options.allowPrivateNetworks ? ['https:', 'http:'] : ['https:'];
    if (!schemes.includes(url.protocol)) return this.options.allowPrivateNetworks ? 'The URL must start with https:// or http://.' : 'The URL must start with https://.';
    if (url.username || url.password) return 'The URL may not contain a user name or password.';
    if (this.options.allowPrivateNetworks) return undefined;
    try {
      await this.publicAddresses(url.hostname);
    } catch (err) {
      return err instanceof UnsafeUrlError ? err.message : 'The URL’s host name could not be resolved.';
    }
    return undefined;
  }

  /** Every address `hostname` resolves to, refusing if any is internal (so no answer can be picked later that was not checked). */
  async publicAddresses(hostname: string): Promise<LookupAddress[]> {
    const bare = hostname.replace(/^\[|\]$/g, '');
    const family = isIP(bare);
    const addresses = family ? [{ address: bare, family }] : await this.resolve(bare);
    if (addresses.length === 0) throw new Error(`${hostname} has no address`);
    if (!this.options.allowPrivateNetworks && addresses.some((a) => isInternalAddress(a.address))) {
      throw new UnsafeUrlError('The URL must not lead to a loopback, private, link-local or otherwise internal address.');
    }
    return addresses;
  }

  /** For http.request's `lookup`: resolves and checks on every new connection, and connects to the checked address. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.publicAddresses(hostname).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        const usable = wanted.length > 0 ? wanted : addresses;
        if (options.all) (callback as (err: null, addresses: LookupAddress[]) => void)(null, usable);
        else callback(null, usable[0]!.address, usable[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
