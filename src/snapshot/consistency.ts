// Refuses snapshots with dangling references: a route to a missing cluster freezes a proxyless
// gRPC client's whole new configuration for 15 s and then fails its calls.
import { SwitchyardError } from '../errors/catalog.js';
import { TypeUrl } from '../proto/type-urls.js';
import type { SnapshotView } from './types.js';

export function checkConsistency(snapshot: SnapshotView): SwitchyardError[] {
  const errors: SwitchyardError[] = [];
  const clusters = snapshot.type(TypeUrl.Cluster);
  const routes = snapshot.type(TypeUrl.RouteConfiguration);
  const endpoints = snapshot.type(TypeUrl.ClusterLoadAssignment);
  const listeners = snapshot.type(TypeUrl.Listener);

  for (const rc of routes?.resources.values() ?? []) {
    for (const c of rc.refs.clusters) {
      if (!clusters?.resources.has(c)) {
        errors.push(new SwitchyardError('SNAP_DANGLING_CLUSTER', `RouteConfiguration "${rc.name}" names cluster "${c}", which is not in the snapshot`));
      }
    }
  }
  for (const cla of endpoints?.resources.values() ?? []) {
    if (!clusters?.resources.has(cla.name)) {
      errors.push(new SwitchyardError('SNAP_ORPHAN_ENDPOINTS', `ClusterLoadAssignment "${cla.name}" names no cluster in the snapshot`));
    }
  }
  for (const l of listeners?.resources.values() ?? []) {
    for (const rc of l.refs.routeConfigs) {
      if (!routes?.resources.has(rc)) {
        errors.push(new SwitchyardError('SNAP_DANGLING_ROUTE_CONFIG', `Listener "${l.name}" names route configuration "${rc}", which is not in the snapshot`));
      }
    }
  }
  return errors;
}
