//! What the server lets its users choose (`server` of `GET api/me`), for
//! every page: the UI offers only what the server would accept.

import { createContext, type ReactNode, useContext, useEffect, useState } from 'react';
import { api } from './client';
import type { ServerPolicy } from './types';

const ServerPolicyContext = createContext<ServerPolicy | null>(null);

/** The server's policy; null until it is known (offer nothing it may refuse). */
export function useServerPolicy(): ServerPolicy | null {
  return useContext(ServerPolicyContext);
}

/** Asks the server once for its policy and gives it to the pages below. */
export function ServerPolicyProvider({ children }: { children: ReactNode }) {
  const [policy, setPolicy] = useState<ServerPolicy | null>(null);
  useEffect(() => {
    let live = true;
    api.me().then(
      (r) => {
        if (live) setPolicy(r.server);
      },
      // Unknown stays unknown: choices the server may refuse stay off.
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, []);
  return <ServerPolicyContext.Provider value={policy}>{children}</ServerPolicyContext.Provider>;
}
