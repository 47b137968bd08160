// Process isolation primitives for the HDF5 sandbox (Linux): a sealable memfd, a spawn (or a
// fork) that hands the child exactly the descriptors it needs, a wait with a wall-clock limit,
// and resource limits. Kept in C because they need _GNU_SOURCE and glibc-only spawn actions.
#pragma once
#include <stdint.h>
#include <sys/types.h>

/// A memfd (close-on-exec, sealable) of `size` bytes (sparse); -1 and errno on failure.
int csb_memfd(const char *name, uint64_t size);
/// Adds seals: grow and shrink (`write` 0), or also write (`write` 1). 0 or -1 and errno.
int csb_seal(int fd, int write);
/// A duplicate of `fd` numbered 10 or above, close-on-exec.
int csb_dup_high(int fd);

/// Spawns `path` with `argv`/`envp`; the child's descriptors are exactly 0-2 on /dev/null,
/// 3 = `file_fd`, 4 = `memory_fd` (others closed), every signal at its default disposition and
/// none blocked. 0 and `*pid`, or an errno value.
int csb_spawn(const char *path, char *const argv[], char *const envp[], int file_fd, int memory_fd, pid_t *pid);

/// fork() for a reader that runs in the forked copy of this process (no exec). Returns as fork
/// does: 0 in the child, its pid in the parent, -1 and errno. Before it returns in the child, the
/// child is set up as `csb_spawn` sets up its program: 0-2 on /dev/null, 3 = `file_fd`,
/// 4 = `memory_fd`, every other descriptor closed, every signal at its default disposition
/// (no handler of the parent's runs in the child) and none blocked; when that fails the child
/// exits with status 125. The child must only read, answer and `_exit`.
pid_t csb_fork(int file_fd, int memory_fd);

/// This process's address space now (VmSize, bytes), 0 when /proc cannot say.
uint64_t csb_address_space(void);

/// Waits for `pid` at most `timeout_ms`; on time-out kills it (SIGKILL) and reaps it.
/// Returns 0 (exited or killed by a signal: `*status` as waitpid's, `*cpu_ms` its CPU time),
/// 1 (timed out and killed), -1 and errno on failure.
int csb_wait(pid_t pid, int timeout_ms, int *status, int64_t *cpu_ms);

/// Sets soft and hard limit of `resource` (RLIMIT_*) to `soft`/`hard`. 0 or -1 and errno.
int csb_limit(int resource, uint64_t soft, uint64_t hard);

/// RLIMIT_* values, which Swift cannot import as constants on glibc.
int csb_rlimit_as(void);
int csb_rlimit_cpu(void);
int csb_rlimit_fsize(void);
int csb_rlimit_nofile(void);
int csb_rlimit_core(void);
