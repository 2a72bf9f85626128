import type { KeyValueStore } from './logic/storage';

const memory = new Map<string, string>();
const memoryStore: KeyValueStore = { getItem: (k) => memory.get(k) ?? null, setItem: (k, v) => void memory.set(k, v), removeItem: (k) => void memory.delete(k) };

/** This tab's sessionStorage (it outlives a reload), or, with storage disabled, a map for the page's life. */
export function tabStorage(): KeyValueStore {
  try {
    return window.sessionStorage;
  } catch {
    return memoryStore;
  }
}
