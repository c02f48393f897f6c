/**
 * The agent's way back after its lease is lost, against a fake etcd client that fails as etcd3
 * does when its circuit breakers are open: every call at once, and a lease whose grant failed
 * reports 'lost' as well. (The real etcd, killed and restarted, is in test/fleet/faults.test.ts;
 * there the storm below showed only under some timings: hundreds of "lease lost" lines in one
 * CI log, then no answer to the first request after quorum came back.)
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { Etcd3 } from 'etcd3';
import type { Deps } from '../api/routes/types.ts';
import { Agent } from './agent.ts';

const BREAKER = 'Execution prevented because the circuit breaker is open';

class FakeEtcd {
  down = false;
  leases = 0;
  /** alive-key writes that went through */
  alive = 0;
  lease(): FakeLease {
    this.leases++;
    return new FakeLease(this);
  }
  put(): { value: () => Promise<void> } {
    return { value: () => (this.down ? Promise.reject(new Error(BREAKER)) : Promise.resolve()) };
  }
  getAll(): unknown {
    const fail = (): Promise<never> => Promise.reject(new Error(BREAKER));
    return { prefix: () => ({ exec: fail, keys: fail, strings: fail }) };
  }
  delete(): unknown {
    return { key: () => ({ exec: () => Promise.resolve() }) };
  }
  watch(): unknown {
    throw new Error(BREAKER);
  }
}

class FakeLease extends EventEmitter {
  constructor(private readonly etcd: FakeEtcd) {
    super();
  }
  put(): { value: () => Promise<void> } {
    return {
      value: () => {
        if (!this.etcd.down) {
          this.etcd.alive++;
          return Promise.resolve();
        }
        // etcd3: the grant fails, the lease emits 'lost', the put rejects
        setImmediate(() => this.emit('lost', new Error(BREAKER)));
        return Promise.reject(new Error(BREAKER));
      },
    };
  }
  release(): void {}
  revoke(): Promise<void> {
    return Promise.resolve();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('a lost lease: one loop goes alive again, whatever the failed grants report', async () => {
  const etcd = new FakeEtcd();
  const lines: string[] = [];
  const agent = new Agent({
    client: etcd as unknown as Etcd3,
    deps: {} as Deps,
    node: 'n1',
    version: 'test',
    backend: 'none',
    root: '/nonexistent',
    ttlSeconds: 3,
    pollMs: 60_000,
    resyncMs: 60_000,
    log: (_level, msg) => void lines.push(msg),
  });
  try {
    await agent.start();
    assert.equal(etcd.alive, 1);
    const first = (agent as unknown as { lease: FakeLease }).lease;
    etcd.down = true;
    const before = etcd.leases;
    first.emit('lost', new Error('lease expired'));
    await sleep(600);
    // attempts at 0, 250 and 750 ms: at most three leases in 600 ms (before: one more loop per
    // failed grant, thousands)
    const made = etcd.leases - before;
    assert.ok(made >= 1 && made <= 3, `${made} leases made in 600 ms`);
    assert.equal(lines.filter((l) => l === 'lease lost; going alive again').length, 1);
    etcd.down = false;
    for (let i = 0; i < 60 && etcd.alive < 2; i++) await sleep(100);
    assert.equal(etcd.alive, 2, 'alive again once etcd answers');
    assert.ok(etcd.leases - before <= 5, `${etcd.leases - before} leases in all`);
  } finally {
    await agent.stop();
  }
});
