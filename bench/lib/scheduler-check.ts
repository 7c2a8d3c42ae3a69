/**
 * Checks a pass's result against its input, independently of the pass's own bookkeeping: every
 * VM accounted for once, no host or datastore over capacity, each placement allowed (host state,
 * permissions, requirements on the snapshot, datastore in the host's cluster, networks) and the
 * VM group rules kept. A benchmark that is fast because it is wrong should fail loudly.
 */
import { compileRequirement, type Lookup } from '../../src/scheduler/expressions.js';
import { SCHEDULABLE_HOST_STATES, type SchedInput } from '../../src/scheduler/model.js';
import type { PassResult } from '../../src/scheduler/pass.js';

/** Problems found (empty when the result is sound), at most `limit` of them. */
export function checkPass(input: SchedInput, result: PassResult, limit = 20): string[] {
  const problems: string[] = [];
  const report = (text: string): void => {
    if (problems.length < limit) problems.push(text);
  };
  const vms = new Map(input.vms.map((v) => [v.id, v]));
  const hosts = new Map(input.hosts.map((h) => [h.id, h]));
  const datastores = new Map(input.datastores.map((d) => [d.id, d]));
  const networks = new Map(input.networks.map((n) => [n.id, n]));

  const seen = new Set<number>();
  const account = (id: number, where: string): void => {
    if (!vms.has(id)) report(`${where}: VM ${id} is not pending`);
    if (seen.has(id)) report(`${where}: VM ${id} appears twice`);
    seen.add(id);
  };
  for (const p of result.placements) account(p.vmId, 'placements');
  for (const u of result.unplaced) account(u.vmId, 'unplaced');
  for (const id of result.deferred) account(id, 'deferred');
  if (seen.size !== vms.size) report(`${vms.size - seen.size} VMs are neither placed, unplaced nor deferred`);

  const requirements = new Map<string, (lookup: Lookup) => boolean>();
  const holds = (text: string, lookup: Lookup): boolean => {
    let test = requirements.get(text);
    if (test === undefined) {
      const compiled = compileRequirement(text);
      test = compiled.ok ? compiled.value.test : () => false;
      requirements.set(text, test);
    }
    return test(lookup);
  };

  const cpu = new Map<number, number>();
  const mem = new Map<number, number>();
  const disk = new Map<number, number>();
  const leases = new Map<number, number>();
  const where = new Map(input.placedVms);
  for (const p of result.placements) {
    const vm = vms.get(p.vmId);
    const host = hosts.get(p.hostId);
    const ds = datastores.get(p.dsId);
    if (vm === undefined || host === undefined || ds === undefined) {
      report(`VM ${p.vmId}: unknown host ${p.hostId} or datastore ${p.dsId}`);
      continue;
    }
    where.set(vm.id, host.id);
    cpu.set(host.id, (cpu.get(host.id) ?? 0) + vm.cpu);
    mem.set(host.id, (mem.get(host.id) ?? 0) + vm.mem);
    disk.set(ds.id, (disk.get(ds.id) ?? 0) + vm.diskMb);
    const at = `VM ${vm.id} on host ${host.id}`;
    if (!SCHEDULABLE_HOST_STATES.has(host.state)) report(`${at}: host state ${host.state}`);
    if (!input.authorize(vm, 'MANAGE', host.auth)) report(`${at}: owner ${vm.uid} may not MANAGE the host`);
    if (!holds(vm.automaticRequirements, host.lookup))
      report(`${at}: AUTOMATIC_REQUIREMENTS ${vm.automaticRequirements} fail`);
    if (!holds(vm.requirements, host.lookup))
      report(`${at}: SCHED_REQUIREMENTS ${vm.requirements} fail on the snapshot`);
    if (!ds.clusterIds.includes(host.clusterId)) report(`${at}: datastore ${ds.id} is not in its cluster`);
    if (ds.state !== 0) report(`${at}: datastore ${ds.id} is disabled`);
    if (!input.authorize(vm, 'USE', ds.auth)) report(`${at}: owner ${vm.uid} may not USE datastore ${ds.id}`);
    if (p.nics.length !== vm.autoNics.length)
      report(`${at}: ${p.nics.length} of ${vm.autoNics.length} auto NICs`);
    for (const nic of p.nics) {
      const net = networks.get(nic.networkId);
      if (net === undefined || !net.clusterIds.includes(host.clusterId))
        report(`${at}: network ${nic.networkId} is not in its cluster`);
      leases.set(nic.networkId, (leases.get(nic.networkId) ?? 0) + 1);
    }
  }
  for (const h of input.hosts) {
    if (h.cpuUsage + (cpu.get(h.id) ?? 0) > h.maxCpu) report(`host ${h.id}: CPU over MAX_CPU`);
    if (h.memUsage + (mem.get(h.id) ?? 0) > h.maxMem) report(`host ${h.id}: memory over MAX_MEM`);
  }
  for (const d of input.datastores)
    if ((disk.get(d.id) ?? 0) > d.freeMb)
      report(`datastore ${d.id}: ${disk.get(d.id)} MB placed, ${d.freeMb} free`);
  for (const n of input.networks)
    if ((leases.get(n.id) ?? 0) > n.freeLeases) report(`network ${n.id}: more leases than free`);

  for (const group of input.groups) {
    const hostsOf = new Map(
      group.roles.map((r) => [r.name, r.vms.flatMap((id) => (where.has(id) ? [where.get(id)!] : []))]),
    );
    const placedNow = (name: string): number[] =>
      group.roles
        .find((r) => r.name === name)!
        .vms.flatMap((id) => (vms.has(id) && where.has(id) ? [where.get(id)!] : []));
    const label = (role: string): string => `group ${group.id} role ${role}`;
    for (const role of group.roles) {
      const on = hostsOf.get(role.name)!;
      if (role.policy === 'ANTI_AFFINED' && new Set(on).size !== on.length)
        report(`${label(role.name)} is ANTI_AFFINED but shares a host: ${on.join(' ')}`);
      if (role.policy === 'AFFINED' && new Set(on).size > 1)
        report(`${label(role.name)} is AFFINED but spans hosts: ${[...new Set(on)].join(' ')}`);
      for (const h of placedNow(role.name)) {
        if (role.hostAffined.length > 0 && !role.hostAffined.includes(h))
          report(`${label(role.name)}: host ${h} is not in HOST_AFFINED`);
        if (role.hostAntiAffined.includes(h))
          report(`${label(role.name)}: host ${h} is in HOST_ANTI_AFFINED`);
      }
    }
    for (const [a, b] of group.antiAffined.flatMap((list) => pairs(list))) {
      const shared = hostsOf.get(a)!.filter((h) => hostsOf.get(b)!.includes(h));
      if (shared.length > 0) report(`group ${group.id}: ANTI_AFFINED ${a} and ${b} share host ${shared[0]}`);
    }
    for (const [a, b] of group.affined.flatMap((list) => pairs(list))) {
      const others = hostsOf.get(b)!;
      const away = placedNow(a).filter((h) => others.length > 0 && !others.includes(h));
      if (away.length > 0) report(`group ${group.id}: AFFINED ${a} on host ${away[0]} without a VM of ${b}`);
    }
  }
  return problems;
}

function pairs(list: readonly string[]): [string, string][] {
  return list.flatMap((a) => list.filter((b) => b !== a).map((b): [string, string] => [a, b]));
}
