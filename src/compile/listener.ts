// The proxyless gRPC Listener: an api_listener whose HttpConnectionManager takes the route
// configuration of the same name over ADS (clients dial xds:///NAME). Envoy gets its own listener
// from its bootstrap, never this one.
import { buildApiListener } from '../proto/builders.js';

export function buildListener(name: string): object {
  return buildApiListener({ name, routeConfigName: name });
}
