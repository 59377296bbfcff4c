// Kept in core so that service-kit's REDIS_URL schema and stream-bus's client
// factory share this one grammar without service-kit depending on stream-bus.

/** Where Refract's Redis is, as REDIS_URL says. */
export type RedisTarget =
  | { cluster: false; url: string }
  | {
      cluster: true;
      /** Seed nodes; the client learns the rest of the cluster from them. */
      nodes: { host: string; port: number }[];
      username?: string;
      password?: string;
      tls: boolean;
    };

const SINGLE = /^rediss?:\/\/\S+$/;
const CLUSTER = /^(rediss?)\+cluster:\/\/(?:([^@/\s]*)@)?([^@/\s]+)\/?$/;
const NODE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/**
 * Reads a Redis URL: `redis://…` / `rediss://…` for one server (what ioredis
 * takes), or `redis+cluster://[user:password@]host:port,host:port,…` (and
 * `rediss+cluster://` for TLS) for a Redis Cluster, listing seed nodes. A
 * cluster has one database, so no path is allowed. Throws an Error that
 * describes the form, never echoing the URL (it may hold a password).
 */
export function parseRedisUrl(url: string): RedisTarget {
  const cluster = CLUSTER.exec(url);
  if (!cluster) {
    if (SINGLE.test(url) && !url.includes('+cluster:')) return { cluster: false, url };
    throw new Error(
      'must be a redis:// or rediss:// URL, or redis+cluster://host:port,host:port for a Redis Cluster',
    );
  }
  const [, scheme, userinfo, hostList] = cluster;
  const nodes = hostList!.split(',').map((node) => {
    const match = NODE.exec(node);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      throw new Error('must list cluster nodes as host:port, separated by commas');
    }
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
  const target: RedisTarget = { cluster: true, nodes, tls: scheme === 'rediss' };
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const username = decodeUserinfo(colon === -1 ? userinfo : userinfo.slice(0, colon));
    const password = colon === -1 ? '' : decodeUserinfo(userinfo.slice(colon + 1));
    if (username !== '') target.username = username;
    if (password !== '') target.password = password;
  }
  return target;
}

function decodeUserinfo(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new Error('must percent-encode the user name and password');
  }
}
