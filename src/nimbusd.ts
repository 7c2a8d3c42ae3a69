// The controller daemon arrives with the API issue; until then the command says so plainly.
console.error('nimbusd: not yet available in this build — the daemon arrives with the REST API issue');
process.exitCode = 1;
