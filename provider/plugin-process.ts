/**
 * Process settings for where the *-ops modules run: the Pulumi provider plugin (and the CLI). The AWS
 * SDK prints a notice that its releases after January 2027 need Node 22 the first time a client is
 * made in a process (@aws-sdk/core emitWarningIfUnsupportedVersion); the plugin's stderr reaches the
 * user as a message in every `pulumi preview`. The version pinned in package-lock.json supports Node
 * 20, so the notice is noise; bin/scw-backup.js does the same for the CLI. Imported first by each
 * *-ops module, so it is set before any client exists; a value the user set is kept.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export {};
