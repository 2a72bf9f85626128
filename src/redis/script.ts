import type { Cluster, Redis } from 'ioredis';

export type ScriptArg = string | number;

/**
 * A Lua function shared between scripts. It sees only its parameters (and `redis`), so a script that
 * includes it cannot depend on its locals, nor it on the script's.
 */
export interface LuaFunction {
  readonly name: string;
  /** `local function name(...) ... end` */
  readonly source: string;
  /** Functions it calls, included before it. */
  readonly uses: readonly LuaFunction[];
}

export function luaFunction(name: string, source: string, uses: readonly LuaFunction[] = []): LuaFunction {
  if (!new RegExp(`^\\s*local function ${name}\\(`).test(source)) throw new Error(`Lua function ${name}: source must start with "local function ${name}("`);
  return { name, source: source.trim(), uses };
}

/** Values for a script's keys, by name, so two keys cannot be passed in each other's place. */
export type ScriptKeys<Keys extends readonly string[]> = { readonly [Name in Keys[number]]: string };

/**
 * One Lua script: the name ioredis registers it under (EVALSHA, falling back to EVAL), its keys in
 * KEYS order, and the full Lua text. Args and Reply only type the calls.
 */
export interface Script<Keys extends readonly string[], Args extends readonly ScriptArg[], Reply> {
  readonly name: string;
  readonly keys: Keys;
  readonly numberOfKeys: number;
  readonly lua: string;
  /** Never set: carries the call's types. */
  readonly types?: { args: Args; reply: Reply };
}

const LUA_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The functions in dependency order, each once. */
function include(functions: readonly LuaFunction[], seen = new Set<LuaFunction>(), out: string[] = []): string[] {
  for (const fn of functions) {
    if (seen.has(fn)) continue;
    seen.add(fn);
    include(fn.uses, seen, out);
    out.push(fn.source);
  }
  return out;
}

/**
 * Declares a script once. Curried so the reply and argument types are written while the key names
 * are inferred: `defineScript<Reply, [user: number]>()({ name, keys: ['wait', 'active'], uses, lua })`.
 * The body sees each key as a local `<name>Key` (KEYS in declaration order) and calls the functions
 * in `uses`, whose definitions are put before it.
 */
export function defineScript<Reply, Args extends readonly ScriptArg[] = ScriptArg[]>() {
  return <const Keys extends readonly string[]>(spec: { name: string; keys: Keys; uses?: readonly LuaFunction[]; lua: string }): Script<Keys, Args, Reply> => {
    const bad = spec.keys.find((key) => !LUA_NAME.test(key));
    if (bad !== undefined) throw new Error(`script ${spec.name}: key name "${bad}" is not a Lua identifier`);
    const keyLocals =
      spec.keys.length === 0 ? [] : [`local ${spec.keys.map((key) => `${key}Key`).join(', ')} = ${spec.keys.map((_, i) => `KEYS[${i + 1}]`).join(', ')}`];
    const lua = [...include(spec.uses ?? []), ...keyLocals, spec.lua.trim()].join('\n') + '\n';
    return { name: spec.name, keys: spec.keys, numberOfKeys: spec.keys.length, lua };
  };
}

/** The script's keys in KEYS order. */
function keyValues<Keys extends readonly string[]>(script: Script<Keys, readonly ScriptArg[], unknown>, keys: ScriptKeys<Keys>): string[] {
  return script.keys.map((name: Keys[number]) => keys[name]);
}

type ScriptMethod = (this: Redis | Cluster, ...keysAndArgs: ScriptArg[]) => unknown;

/** The method ioredis's defineCommand added for the script. */
function scriptMethod(target: Redis | Cluster, name: string): ScriptMethod {
  const method: unknown = Reflect.get(target, name);
  if (typeof method !== 'function') throw new Error(`Redis script ${name} is not registered on this connection: create it with createRedis`);
  return method as ScriptMethod;
}

/** Whether Redis answered that it does not know the script (EVALSHA of a script not in its cache). */
const isNoScript = (error: unknown) => error instanceof Error && error.message.startsWith('NOSCRIPT');

/**
 * Runs the script (EVALSHA, or EVAL when Redis does not know it yet). ioredis sends EVAL once per
 * connection and then EVALSHA, and falls back to EVAL once on NOSCRIPT; on a cluster, a node that came
 * back empty can still answer NOSCRIPT to that fallback (ioredis counts the script loaded on the
 * connection once it wrote the EVAL, even when that EVAL met CLUSTERDOWN and was redirected), which
 * would reach clients as an unexpected error. Then the script is sent whole, as EVAL.
 */
export function runScript<Keys extends readonly string[], Args extends readonly ScriptArg[], Reply>(
  redis: Redis | Cluster,
  script: Script<Keys, Args, Reply>,
  keys: ScriptKeys<Keys>,
  ...args: Args
): Promise<Reply> {
  const method = scriptMethod(redis, script.name);
  const keysAndArgs = [...keyValues(script, keys), ...args];
  return (method.call(redis, ...keysAndArgs) as Promise<Reply>).catch((error: unknown) => {
    if (!isNoScript(error)) throw error;
    return redis.eval(script.lua, script.numberOfKeys, ...keysAndArgs) as Promise<Reply>;
  });
}

/** Registers the scripts on a connection (its pipelines copy them). */
export function registerScripts(redis: Redis | Cluster, scripts: readonly Script<readonly string[], readonly ScriptArg[], unknown>[]): void {
  const names = new Set<string>();
  for (const script of scripts) {
    // defineCommand would silently replace a command of the same name.
    if (names.has(script.name) || Reflect.has(redis, script.name)) throw new Error(`Redis script name ${script.name} is already taken`);
    names.add(script.name);
    redis.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
  }
}
