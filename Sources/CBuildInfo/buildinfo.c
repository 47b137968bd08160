#include "cbuildinfo.h"

// Defined only by the object scripts/dist.sh links in (see cbuildinfo.h).
extern const char genesis_build_commit_id[] __attribute__((weak));

const char *genesis_build_commit(void) {
    const char *id = genesis_build_commit_id;
    return id != 0 && id[0] != 0 ? id : 0;
}
