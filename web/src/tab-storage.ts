import type { KeyValueStore } from './logic/storage';

/** A map for the page's life, standing in for a Web Storage the browser refuses (storage disabled). */
function mapStore(): KeyValueStore {
  const map = new Map<string, string>();
  return { getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
}

const standIns = { sessionStorage: mapStore(), localStorage: mapStore() };

function webStorage(kind: keyof typeof standIns): KeyValueStore {
  try {
    return window[kind];
  } catch {
    return standIns[kind];
  }
}

/** This tab's sessionStorage (it outlives a reload), or, with storage disabled, a map for the page's life. */
export function tabStorage(): KeyValueStore {
  return webStorage('sessionStorage');
}

/** This browser's localStorage (shared by its tabs, outliving them), or, with storage disabled, a map for the page's life. */
export function browserStorage(): KeyValueStore {
  return webStorage('localStorage');
}
