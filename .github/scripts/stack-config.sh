#!/usr/bin/env bash
# Selects the stack $PULUMI_STACK, creating it on the first run, and writes its config from the
# environment (backup.yml sets it from the repository's secrets and variables): the keys the program
# requires (examples/pulumi/single-volume: config.require / requireSecret). Run in the program's folder.
set -euo pipefail
for v in PULUMI_STACK SCW_DEFAULT_PROJECT_ID VOLUME_ID STORE_BUCKET STORE_PASSPHRASE; do
  if [ -z "${!v:-}" ]; then
    echo "stack-config.sh: $v is empty: set it in the repository's secrets or variables (see backup.yml)" >&2
    exit 1
  fi
done
pulumi stack select --create "$PULUMI_STACK"
pulumi config set projectId "$SCW_DEFAULT_PROJECT_ID"
pulumi config set volumeId "$VOLUME_ID"
pulumi config set storeBucket "$STORE_BUCKET"
# From stdin, not the command line: the passphrase stays out of the process list.
printf '%s' "$STORE_PASSPHRASE" | pulumi config set --secret storePassphrase
