/** `nimbus acl` — oneacl's verbs: create, list, delete. */
import type { Command } from 'commander';
import { formatAclList } from '../domain/auth/acl.js';
import type { AclRecord } from '../domain/auth/record.js';
import { clientFor } from './client.js';
import { printJson } from './output.js';
import { CliFailure, type CliIo } from './program.js';

interface AclBody {
  ID: number;
  USER: string;
  RESOURCE: string;
  RIGHTS: string;
  ZONE: string;
  STRING: string;
}

const word = (hex: string): bigint => BigInt(`0x${hex}`);

export function aclNoun(program: Command, io: CliIo): void {
  const acl = program.command('acl').description('ACL rules (oneacl)');

  acl
    .command('create')
    .argument('<rule...>', 'the rule, e.g. "@1 VM+IMAGE/* CREATE" (user resource/id rights [zone])')
    .description('add an ACL rule')
    .action(async (words: string[], _opts: unknown, cmd: Command) => {
      const res = await (
        await clientFor(cmd)
      ).request<{ ID: number }>('POST', '/api/v1/acl', { rule: words.join(' ') });
      io.stdout(`ID: ${res.ID}\n`);
    });

  acl
    .command('list')
    .option('--json', 'print the ACL_POOL as JSON')
    .description('list ACL rules')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const body = await (
        await clientFor(cmd)
      ).request<{ ACL_POOL: { ACL: AclBody[] } }>('GET', '/api/v1/acl');
      if (opts.json === true) return printJson(io, body);
      const rules: AclRecord[] = body.ACL_POOL.ACL.map((r) => ({
        id: r.ID,
        user: word(r.USER),
        resource: word(r.RESOURCE),
        rights: word(r.RIGHTS),
        zone: word(r.ZONE),
      }));
      io.stdout(`${formatAclList(rules)}\n`);
    });

  acl
    .command('delete')
    .argument('<id>', 'rule id')
    .description('delete an ACL rule')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      if (!/^\d+$/.test(id)) throw new CliFailure(`nimbus: ACL rule id must be a number, got "${id}"`);
      await (await clientFor(cmd)).request('DELETE', `/api/v1/acl/${id}`);
    });
}
