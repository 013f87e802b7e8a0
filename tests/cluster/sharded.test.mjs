// The sharded adapter (issue 13; the reference's createShardedAdapter,
// Redis 7 SPUBLISH/SSUBSCRIBE): the main checks of cluster.test.mjs on
// three nodes ($SIOC_CLUSTER_KINDS, as there) with --sharded on, in each
// subscription mode (dynamic, dynamic-private, static;
// $SIOC_SHARDED_MODES narrows them).

import { clusterSuite } from './cluster_cases.mjs';
import { clusterKinds } from './cluster_lib.mjs';

const kinds = clusterKinds(3);
const modes = (process.env.SIOC_SHARDED_MODES ?? 'dynamic,dynamic-private,static').split(',');

for (const mode of modes) {
  clusterSuite({
    label: `sharded adapter, ${mode} subscriptions, nodes ${kinds.join(',')}`,
    kinds,
    sharded: true,
    subscriptionMode: mode,
    timeout: 35000,
  });
}
