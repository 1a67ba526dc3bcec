#!/usr/bin/env node
// Thin launcher: the CLI itself is compiled TypeScript in dist/.
// The AWS SDK warns on every start that future releases will need Node 22; it is noise for users
// of a tool that supports Node 20 today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('../dist/cli/main.js');

process.exitCode = await main(process.argv.slice(2));
