// The sharded adapter with a node stalled then killed (issue 13): the
// stall/kill checks of cluster_cases.mjs on three nodes
// ($SIOC_CLUSTER_KINDS) with --sharded on, in each subscription mode
// ($SIOC_SHARDED_MODES). The asking node is the first one and must be a
// sioc node: the reference's sharded adapter ignores requestsTimeout (its
// requests wait a fixed 5000 ms), so a Node asker cannot meet the timing
// the checks expect; with a Node node first the suite is skipped.

import { test } from 'node:test';
import { clusterSuite } from './cluster_cases.mjs';
import { clusterKinds } from './cluster_lib.mjs';

const kinds = clusterKinds(3);
const modes = (process.env.SIOC_SHARDED_MODES ?? 'dynamic,dynamic-private,static').split(',');

if (kinds[0] !== 'sioc') {
  test('sharded stall and kill: needs a sioc node first', { skip: `nodes ${kinds}` }, () => {});
} else {
  for (const mode of modes) {
    clusterSuite({
      label: `sharded adapter, ${mode} subscriptions, a node stalled and killed, nodes ${kinds}`,
      kinds,
      sharded: true,
      subscriptionMode: mode,
      kill: true,
      requestsTimeout: 2000,
      timeout: 90000,
    });
  }
}
