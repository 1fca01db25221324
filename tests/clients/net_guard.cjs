// Loaded with `node --require` (NODE_OPTIONS) into a client under test: every TCP connection to a host
// that is not loopback is refused and recorded in $BYTESPIKE_NET_LOG (DNS lookups too), so a run
// proves the client reached nothing but the gateway: no telemetry, no update check, no download.
const net = require("node:net");
const dns = require("node:dns");
const fs = require("node:fs");
const LOG = process.env.BYTESPIKE_NET_LOG;
const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost", "::ffff:127.0.0.1"]);
function note(what) {
  if (LOG) fs.appendFileSync(LOG, what + "\n");
}
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  let opts = args[0];
  if (Array.isArray(opts)) opts = opts[0];
  let host = typeof opts === "object" && opts !== null ? opts.host : typeof args[1] === "string" ? args[1] : undefined;
  const path = typeof opts === "object" && opts !== null ? opts.path : undefined;
  if (!path && host !== undefined && !LOOPBACK.has(String(host))) {
    note("connect " + host + ":" + (typeof opts === "object" ? opts.port : opts));
    const err = Object.assign(new Error("blocked by the client suite: " + host), { code: "ECONNREFUSED" });
    process.nextTick(() => this.destroy(err));
    return this;
  }
  return connect.apply(this, args);
};
const lookup = dns.lookup;
dns.lookup = function (hostname, ...rest) {
  if (!LOOPBACK.has(String(hostname))) note("lookup " + hostname);
  return lookup.call(this, hostname, ...rest);
};
