//! Loads one thing from the API when a component mounts (aborted when it
//! unmounts), with its error and a reload, the way every list page does.

import { useCallback, useEffect, useState, type Dispatch, type SetStateAction } from 'react';
import { errorMessage } from './client';

/** What `useLoaded` gives a component. */
export interface Loaded<T> {
  /** `null` until the first load succeeded. */
  value: T | null;
  /** Changes the loaded value in place (e.g. one edited row). */
  setValue: Dispatch<SetStateAction<T | null>>;
  /** The last load's failure, cleared by a successful one. */
  error: string | null;
  /** Loads again (a failure shows as `error`; the old value stays). */
  reload: () => Promise<void>;
}

/**
 * Calls `fetch` at mount and on `reload`; `errorText` words a failure.
 * Both must be stable (module functions, or memoised).
 */
export function useLoaded<T>(
  fetch: (signal?: AbortSignal) => Promise<T>,
  errorText: (e: unknown) => string = errorMessage,
): Loaded<T> {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    async (signal?: AbortSignal) => {
      try {
        setValue(await fetch(signal));
        setError(null);
      } catch (e) {
        if (!signal?.aborted) setError(errorText(e));
      }
    },
    [fetch, errorText],
  );

  useEffect(() => {
    const ctl = new AbortController();
    void load(ctl.signal);
    return () => ctl.abort();
  }, [load]);

  const reload = useCallback(() => load(), [load]);
  return { value, setValue, error, reload };
}
