// The decoded ADS requests as the streams read them (proto field names).
export interface DecodedNode {
  id: string;
  cluster: string;
  locality?: { region?: string; zone?: string; sub_zone?: string } | null;
  user_agent_name: string;
  user_agent_version?: string;
  metadata?: { fields?: Record<string, unknown> } | null;
}

export interface DiscoveryRequest {
  version_info: string;
  node?: DecodedNode | null;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail?: { code?: number; message?: string } | null;
}

export interface DeltaDiscoveryRequest {
  node?: DecodedNode | null;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail?: { code?: number; message?: string } | null;
}
