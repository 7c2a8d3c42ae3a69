/** Entry point of the `nimbus` command (bin/nimbus.js imports the built copy). One line per noun. */
import { aclNoun } from './acl.js';
import { clusterNoun } from './clusters.js';
import { datastoreNoun } from './datastores.js';
import { groupNoun } from './groups.js';
import { hostNoun } from './hosts.js';
import { imageNoun } from './images.js';
import { processIo, runCli } from './program.js';
import { templateNoun } from './template.js';
import { userNoun } from './users.js';
import { vmGroupNoun } from './vmgroups.js';
import { vmTemplateNoun } from './vmtemplates.js';
import { vmNoun } from './vms.js';
import { vnetNoun } from './vnets.js';

process.exitCode = await runCli(
  process.argv.slice(2),
  [
    templateNoun,
    userNoun,
    groupNoun,
    aclNoun,
    hostNoun,
    clusterNoun,
    datastoreNoun,
    vmTemplateNoun,
    vmNoun,
    vnetNoun,
    imageNoun,
    vmGroupNoun,
  ],
  processIo(),
);
