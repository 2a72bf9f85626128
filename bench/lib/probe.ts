/**
 * Preloaded into server processes the bench starts (`node --expose-gc --require probe.js
 * dist/src/main.js`): answers requests over the IPC channel the bench opened, so the bench can
 * read the server's heap after a full GC and record CPU profiles of exactly the measured windows,
 * without adding any debug endpoint to the app. Not part of the service.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { writeHeapSnapshot } from 'node:v8';
import type { ProbeReply, ProbeRequest } from './probe-protocol';

let session: Session | undefined;

function post<T>(method: string): Promise<T> {
  return new Promise((resolve, reject) => {
    if (!session) return reject(new Error('no inspector session'));
    session.post(method, (error, result) => (error ? reject(error) : resolve(result as T)));
  });
}

async function handle(request: ProbeRequest): Promise<Omit<ProbeReply, 'id'>> {
  switch (request.type) {
    case 'heap': {
      if (!global.gc) throw new Error('start the server with --expose-gc');
      for (let i = 0; i < 3; i++) global.gc();
      const memory = process.memoryUsage();
      return { heapUsed: memory.heapUsed, rss: memory.rss, external: memory.external };
    }
    case 'heap-snapshot': {
      writeHeapSnapshot(request.file);
      return {};
    }
    case 'profile-start': {
      session ??= new Session();
      session.connect();
      await post('Profiler.enable');
      await post('Profiler.start');
      return {};
    }
    case 'profile-stop': {
      const { profile } = await post<{ profile: unknown }>('Profiler.stop');
      writeFileSync(request.file, JSON.stringify(profile));
      session?.disconnect();
      session = undefined;
      return {};
    }
    default:
      throw new Error(`the server probe does not do ${request.type}`);
  }
}

process.on('message', (message: ProbeRequest) => {
  handle(message).then(
    (reply) => process.send?.({ id: message.id, ...reply }),
    (error: unknown) => process.send?.({ id: message.id, error: error instanceof Error ? error.message : String(error) }),
  );
});

// If the bench dies, shut the server down the normal way rather than leave it running.
process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
