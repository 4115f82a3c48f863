//! What the server lets its users choose (`server` of `GET api/me`), for
//! every page: the UI offers only what the server would accept.

import { createContext, type ReactNode, useContext } from 'react';
import type { ServerPolicy } from './types';

const ServerPolicyContext = createContext<ServerPolicy | null>(null);

/** The server's policy; null until it is known (offer nothing it may refuse). */
export function useServerPolicy(): ServerPolicy | null {
  return useContext(ServerPolicyContext);
}

/** Gives the server's policy (from the caller's `GET api/me`) to the pages below. */
export function ServerPolicyProvider({ policy, children }: { policy: ServerPolicy | null; children: ReactNode }) {
  return <ServerPolicyContext.Provider value={policy}>{children}</ServerPolicyContext.Provider>;
}
