import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import {
  createTemplateResolver,
  hasVariables,
  listVariables,
  parseTemplate,
  parseTemplateXml,
  resolveVariable,
  substituteVariables,
  TemplateVariableError,
} from '../../../src/domain/template/index.js';
import type { VariableCondition, VariableResolver } from '../../../src/domain/template/index.js';
import { expectNimbusError } from './support.js';

const VM = parseTemplate(`
NAME = "template-name"
CPU = 0.5
MEMORY = 1024
NIC = [ NIC_ID = 0, NETWORK = "private", NETWORK_ID = 3, AR_ID = 0, IP = 10.0.0.5, MAC = "02:00:0a:00:00:05" ]
NIC = [ NIC_ID = 1, NETWORK = "public", NETWORK_ID = 7, IP = 192.0.2.10, MAC = "02:00:c0:00:02:0a" ]
NIC_ALIAS = [ NIC_ID = 2, NETWORK = "alias-net", NETWORK_ID = 9, PARENT = NIC0 ]
DISK = [ DISK_ID = 0, IMAGE = "debian", IMAGE_ID = 12 ]
DISK = [ DISK_ID = 1, TYPE = fs, SIZE = 1024 ]
`);

const networkCalls: unknown[] = [];
const resolver = createTemplateResolver({
  template: VM,
  vm: { id: 42, name: 'web-42' },
  owner: { uid: 5, uname: 'alice', gid: 1, gname: 'users' },
  userTemplate: parseTemplate('SSH_PUBLIC_KEY = "ssh-ed25519 AAAA alice@laptop"'),
  network: (lookup) => {
    networkCalls.push(lookup);
    const vnets: Record<string, Record<string, string>> = {
      '3': { GATEWAY: '10.0.0.1', DNS: '10.0.0.2' },
      '7': { GATEWAY: '192.0.2.1' },
      '9': { GATEWAY: '172.16.0.1' },
    };
    return vnets[lookup.networkId]?.[lookup.attribute];
  },
  image: ({ imageId, attribute }) => (imageId === '12' && attribute === 'SIZE' ? '2048' : undefined),
  file: (conditions) => `/var/lib/one/datastores/2/${conditions.map((c) => `${c.key}=${c.value}`).join(',')}`,
});

/** [text, expected] */
const SUBSTITUTIONS: readonly [string, string][] = [
  ['plain text', 'plain text'],
  ['$NAME', 'web-42'],
  ['host-$NAME.example', 'host-web-42.example'],
  ['$VMID', '42'],
  ['$CPU/$MEMORY', '0.5/1024'],
  ['$cpu', '0.5'],
  ['$UID $UNAME $GID $GNAME', '5 alice 1 users'],
  ['$NIC[IP]', '10.0.0.5'],
  ['$NIC[ IP ]', '10.0.0.5'],
  ['$NIC[IP, NETWORK="public"]', '192.0.2.10'],
  ['$NIC[MAC, NIC_ID="1"]', '02:00:c0:00:02:0a'],
  ['$nic[mac,nic_id=1]', '02:00:c0:00:02:0a'],
  ['$NIC[IP, NETWORK="nowhere"]', ''],
  ['$NIC[GATEWAY]', ''],
  ['$DISK[SIZE, DISK_ID=1]', '1024'],
  ['$NETWORK[GATEWAY, NETWORK_ID=3]', '10.0.0.1'],
  ['$NETWORK[GATEWAY, NETWORK="public"]', '192.0.2.1'],
  ['$NETWORK[DNS, NIC_ID=0]', '10.0.0.2'],
  ['$NETWORK[GATEWAY, NETWORK="alias-net"]', '172.16.0.1'],
  ['$NETWORK[GATEWAY, IP="10.0.0.5"]', ''],
  ['$NETWORK[GATEWAY]', ''],
  ['$IMAGE[SIZE, IMAGE_ID=12]', '2048'],
  ['$IMAGE[SIZE, IMAGE="debian"]', '2048'],
  ['$IMAGE[SIZE, IMAGE="other"]', ''],
  ['$IMAGE[SIZE, DISK_ID=0]', ''],
  ['$USER[SSH_PUBLIC_KEY]', 'ssh-ed25519 AAAA alice@laptop'],
  ['$USER[MISSING]', ''],
  [
    '$FILE[IMAGE="kernel", IMAGE_UNAME="oneadmin"]',
    '/var/lib/one/datastores/2/IMAGE=kernel,IMAGE_UNAME=oneadmin',
  ],
  ['$FILE[IMAGE_ID=4]', '/var/lib/one/datastores/2/IMAGE_ID=4'],
  ['$MISSING', ''],
  ['\\$NAME costs \\$5', '$NAME costs $5'],
  ['C:\\dir\\n', 'C:\\dir\\n'],
  ['\\\\$NAME', '\\\\web-42'],
  ['$NAME$VMID', 'web-4242'],
  ['$NIC [IP]', ' [IP]'],
  ['$CPU [IP]', '0.5 [IP]'],
  ['a\n$NAME\nb', 'a\nweb-42\nb'],
  ['trailing backslash \\', 'trailing backslash \\'],
];

describe('substituteVariables with a resolver built from a VM template', () => {
  for (const [text, expected] of SUBSTITUTIONS) {
    it(`${JSON.stringify(text)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(substituteVariables(text, resolver), expected);
    });
  }

  it('passes the NIC AR_ID to the network lookup', () => {
    networkCalls.length = 0;
    substituteVariables('$NETWORK[GATEWAY, NIC_ID=0] $NETWORK[GATEWAY, NIC_ID=1]', resolver);
    assert.deepStrictEqual(networkCalls, [
      { networkId: '3', arId: '0', attribute: 'GATEWAY' },
      { networkId: '7', attribute: 'GATEWAY' },
    ]);
  });

  it('$TEMPLATE is the VM template as base64 XML', () => {
    const xml = Buffer.from(substituteVariables('$TEMPLATE', resolver), 'base64').toString('utf8');
    assert.deepStrictEqual(parseTemplateXml(xml), VM);
  });

  it('$USER[TEMPLATE] is the user template as base64 XML', () => {
    const xml = Buffer.from(substituteVariables('$USER[TEMPLATE]', resolver), 'base64').toString('utf8');
    assert.deepStrictEqual(parseTemplateXml(xml), { SSH_PUBLIC_KEY: ['ssh-ed25519 AAAA alice@laptop'] });
  });

  it('falls back to the template for NAME and VMID, and resolves nothing without owner or lookups', () => {
    const bare = createTemplateResolver({
      template: parseTemplate('NAME = t\nVMID = 7\nNIC = [ NETWORK_ID = 1 ]\nDISK = [ IMAGE_ID = 2 ]'),
    });
    assert.equal(
      substituteVariables(
        '$NAME $VMID [$UID] [$USER[X]] [$NETWORK[A, NETWORK_ID=1]] [$IMAGE[A, IMAGE_ID=2]] [$FILE[IMAGE_ID=2]]',
        bare,
      ),
      't 7 [] [] [] [] []',
    );
    const withId = createTemplateResolver({ template: {}, vm: { id: 9 } });
    assert.equal(substituteVariables('$VMID-$NAME', withId), '9-');
  });

  it('returns the text itself when it has nothing to substitute', () => {
    const text = 'no variables here';
    assert.equal(substituteVariables(text, resolver), text);
    assert.equal(hasVariables(text), false);
    assert.equal(hasVariables('$A'), true);
  });
});

describe('resolveVariable follows OpenNebula dispatch rules', () => {
  const calls: string[] = [];
  const recording: VariableResolver = {
    attribute: (name) => (calls.push(`attribute ${name}`), 'a'),
    owner: (field) => (calls.push(`owner ${field}`), 'o'),
    template: () => (calls.push('template'), 't'),
    vector: (name, attribute, condition?: VariableCondition) => (
      calls.push(`vector ${name} ${attribute} ${JSON.stringify(condition)}`),
      'v'
    ),
    network: (attribute, condition) => (
      calls.push(`network ${attribute} ${condition.key}=${condition.value}`),
      'n'
    ),
    image: (attribute, condition) => (
      calls.push(`image ${attribute} ${condition.key}=${condition.value}`),
      'i'
    ),
    user: (attribute) => (calls.push(`user ${attribute}`), 'u'),
    file: (conditions) => (calls.push(`file ${conditions.length}`), 'f'),
  };

  it('sends each form to its lookup, and NETWORK/IMAGE only with a key OpenNebula accepts', () => {
    calls.length = 0;
    const out = listVariables(
      '$TEMPLATE $GNAME $X $D[A] $D[A,K="v"] $NETWORK[A,NIC_ID=1] $NETWORK[A,K=1] $IMAGE[A,IMAGE=x] $IMAGE[A] $USER[A, K=1] $FILE[IMAGE=x]',
    ).map((ref) => resolveVariable(ref, recording));
    assert.deepStrictEqual(out, ['t', 'o', 'a', 'v', 'v', 'n', '', 'i', '', 'u', 'f']);
    assert.deepStrictEqual(calls, [
      'template',
      'owner GNAME',
      'attribute X',
      'vector D A undefined',
      'vector D A {"key":"K","value":"v"}',
      'network A NIC_ID=1',
      'image A IMAGE=x',
      'user A',
      'file 1',
    ]);
  });
});

describe('listVariables', () => {
  it('lists every reference with its form and position', () => {
    const refs = listVariables(
      'ip=$NIC[IP, NETWORK="public"]\nhost=$name \\$not $FILE[IMAGE_ID=3, IMAGE_UID=0]',
    );
    assert.deepStrictEqual(refs, [
      {
        kind: 'vector',
        name: 'NIC',
        attribute: 'IP',
        condition: { key: 'NETWORK', value: 'public' },
        source: '$NIC[IP, NETWORK="public"]',
        offset: 3,
        line: 1,
        column: 4,
      },
      { kind: 'attribute', name: 'NAME', source: '$name', offset: 35, line: 2, column: 6 },
      {
        kind: 'file',
        name: 'FILE',
        conditions: [
          { key: 'IMAGE_ID', value: '3' },
          { key: 'IMAGE_UID', value: '0' },
        ],
        source: '$FILE[IMAGE_ID=3, IMAGE_UID=0]',
        offset: 47,
        line: 2,
        column: 18,
      },
    ]);
  });
});

describe('malformed references', () => {
  /** [text, line, column, part of the message] */
  const MALFORMED: readonly [string, number, number, string][] = [
    ['$NIC[', 1, 1, 'unterminated variable reference "$NIC[" (missing "]")'],
    ['ip: $NIC[IP', 1, 5, 'unterminated variable reference "$NIC[IP"'],
    ['a\nb $NIC[IP, NETWORK=', 2, 3, 'unterminated variable reference'],
    ['$NIC[IP, NETWORK="pub', 1, 18, 'unterminated quoted value for NETWORK in "$NIC[...]"'],
    [
      'cost: 5$',
      1,
      8,
      '"$" must be followed by a variable name, found end of text (write \\$ for a literal "$")',
    ],
    ['$ 5', 1, 1, 'found " "'],
    ['$$NAME', 1, 1, 'found "$"'],
    ['$NIC[]', 1, 6, 'empty brackets in "$NIC[]"'],
    ['$NIC[IP,]', 1, 9, 'expected a name inside "$NIC[...]", found "]"'],
    ['$NIC[IP NETWORK]', 1, 9, 'expected "," or "]" in "$NIC[...]", found "N"'],
    ['$NIC[IP, NETWORK=]', 1, 18, 'expected a value after "NETWORK=" in "$NIC[...]", found "]"'],
    ['$NIC[IP, NETWORK=a b]', 1, 20, 'expected "," or "]"'],
    [
      '$NIC[NETWORK="x"]',
      1,
      1,
      '"$NIC[NETWORK="x"]" is not a vector reference: write $NIC[ATTRIBUTE] or $NIC[ATTRIBUTE, KEY="value"]',
    ],
    ['$NIC[IP, MAC]', 1, 1, 'is not a vector reference'],
    ['$NIC[IP, A=1, B=2]', 1, 1, 'is not a vector reference'],
    ['$FILE[IMAGE]', 1, 1, 'is not a file reference: write $FILE[IMAGE="name"] or $FILE[IMAGE_ID=id]'],
    ['$FILE[IMAGE=a, IMAGE_UNAME=b, X=c]', 1, 1, 'is not a file reference'],
    ['x\n  $NIC[\n', 2, 3, 'unterminated variable reference "$NIC["'],
    ['$NIC[IP\n]', 1, 1, 'unterminated variable reference "$NIC[IP"'],
    ['$NIC[IP, NETWORK=\n]', 1, 1, 'unterminated variable reference'],
    ['$ \n', 1, 1, 'found " "'],
    ['$\n', 1, 1, 'found end of line'],
  ];

  for (const [text, line, column, message] of MALFORMED) {
    it(`${JSON.stringify(text)} -> ${line}:${column}`, () => {
      for (const run of [() => substituteVariables(text, resolver), () => listVariables(text)]) {
        const error = expectNimbusError(run);
        assert.ok(error instanceof TemplateVariableError);
        assert.equal(error.code, 'TEMPLATE_VARIABLE');
        assert.ok(error.message.includes(message), error.message);
        assert.deepStrictEqual([error.line, error.column], [line, column], error.message);
      }
    });
  }
});
