// The host agent arrives with the lifecycle issue; until then the command says so plainly.
console.error('nimbus-agent: not yet available in this build — the agent arrives with the lifecycle issue');
process.exitCode = 1;
