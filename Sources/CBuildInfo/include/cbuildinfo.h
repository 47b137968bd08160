// What a release build records about itself. `make dist` (scripts/dist.sh) links one more
// object into the binaries, defining genesis_build_commit_id as the commit it was built from;
// every other build leaves the weak symbol undefined (NULL) and the commit is read from git.
// No compiler flag and no generated source: a dist build only relinks.
#pragma once

/// The commit the release was built from ("97a649d1c2e3" or "97a649d1c2e3-dirty"), or NULL.
const char *genesis_build_commit(void);
