// The mixed cluster (issue 13): three nodes on one redis-server, by
// default two sioc nodes and a Node one ($SIOC_CLUSTER_KINDS, e.g.
// "node,node,node" for the reference run), with the classic
// @socket.io/redis-adapter protocol. Broadcasts (all, rooms, excepts,
// socket.broadcast, local, binary, every msgpack width), fetchSockets,
// socketsJoin/Leave, disconnectSockets, serverSideEmit with and without
// acks, serverCount and broadcasts with acks are asked from each node in
// turn; the @socket.io/redis-emitter reaches every node's clients; a
// stalled node makes requests time out cleanly and, killed, leaves the
// others going. Then the requests again with
// publishOnSpecificResponseChannel on every node.

import { clusterSuite } from './cluster_cases.mjs';
import { clusterKinds } from './cluster_lib.mjs';

const kinds = clusterKinds(3);

clusterSuite({
  label: `classic adapter, nodes ${kinds.join(',')}`,
  kinds,
  emitter: true,
  kill: true,
  requestsTimeout: 2000,
  timeout: 70000,
});

clusterSuite({
  label: `classic adapter, responses on each node's own channel, nodes ${kinds.join(',')}`,
  kinds,
  specificResponse: true,
  requestsOnly: true,
  timeout: 40000,
});
