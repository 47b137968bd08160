#define _GNU_SOURCE
#include "csandbox.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int csb_memfd(const char *name, uint64_t size) {
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -1;
    if (ftruncate(fd, (off_t)size) != 0) { int e = errno; close(fd); errno = e; return -1; }
    return fd;
}

int csb_seal(int fd, int write) {
    int seals = F_SEAL_GROW | F_SEAL_SHRINK | (write ? F_SEAL_WRITE | F_SEAL_SEAL : 0);
    return fcntl(fd, F_ADD_SEALS, seals);
}

int csb_dup_high(int fd) { return fcntl(fd, F_DUPFD_CLOEXEC, 10); }

int csb_spawn(const char *path, char *const argv[], char *const envp[], int file_fd, int memory_fd, pid_t *pid) {
    // The sources must not be 3 or 4, or the first dup2 would overwrite the second source.
    if (file_fd < 5 || memory_fd < 5) return EINVAL;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc) return rc;
    rc = posix_spawnattr_init(&attr);
    if (rc) { posix_spawn_file_actions_destroy(&fa); return rc; }
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    if (!rc) rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!rc) rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (!rc) rc = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (!rc) rc = posix_spawn_file_actions_adddup2(&fa, file_fd, 3);
    if (!rc) rc = posix_spawn_file_actions_adddup2(&fa, memory_fd, 4);
    if (!rc) rc = posix_spawn_file_actions_addclosefrom_np(&fa, 5);
    if (!rc) rc = posix_spawnattr_setsigmask(&attr, &none);
    if (!rc) rc = posix_spawnattr_setsigdefault(&attr, &all);
    if (!rc) rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (!rc) rc = posix_spawn(pid, path, &fa, &attr, argv, envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

// Only async-signal-safe calls between fork and the return in the child (the parent may have
// other threads, whose locks the child inherits held).
static int child_setup(int file_fd, int memory_fd) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) return -1;
    for (int fd = 0; fd < 3; fd++) if (dup2(null, fd) < 0) return -1;
    if (dup2(file_fd, 3) < 0 || dup2(memory_fd, 4) < 0) return -1;
    if (syscall(SYS_close_range, 5U, ~0U, 0U) != 0) {
        struct rlimit r;
        if (getrlimit(RLIMIT_NOFILE, &r) != 0) return -1;
        rlim_t top = r.rlim_cur == RLIM_INFINITY || r.rlim_cur > 1048576 ? 1048576 : r.rlim_cur;
        for (rlim_t fd = 5; fd < top; fd++) close((int)fd);
    }
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        sigaction(s, &dfl, NULL);  // fails (EINVAL) only for the C library's reserved signals
    }
    sigset_t none;
    sigemptyset(&none);
    return sigprocmask(SIG_SETMASK, &none, NULL);
}

pid_t csb_fork(int file_fd, int memory_fd) {
    if (file_fd < 5 || memory_fd < 5) { errno = EINVAL; return -1; }
    pid_t pid = fork();
    if (pid != 0) return pid;
    if (child_setup(file_fd, memory_fd) != 0) _exit(125);
    return 0;
}

uint64_t csb_address_space(void) {
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    uint64_t pages = 0;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) pages = pages * 10 + (uint64_t)(buf[i] - '0');
    long page = sysconf(_SC_PAGESIZE);
    return pages * (uint64_t)(page > 0 ? page : 4096);
}

static int64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int reap(pid_t pid, int *status, int64_t *cpu_ms) {
    struct rusage ru;
    pid_t r;
    do { r = wait4(pid, status, 0, &ru); } while (r < 0 && errno == EINTR);
    if (r < 0) return -1;
    if (cpu_ms) *cpu_ms = (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
    return 0;
}

int csb_wait(pid_t pid, int timeout_ms, int *status, int64_t *cpu_ms) {
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) return -1;
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0) break;
        struct pollfd p = { pidfd, POLLIN, 0 };
        int n = poll(&p, 1, (int)(left > 1000000 ? 1000000 : left));
        if (n > 0) { close(pidfd); return reap(pid, status, cpu_ms); }
        if (n < 0 && errno != EINTR) { int e = errno; close(pidfd); kill(pid, SIGKILL); reap(pid, status, cpu_ms); errno = e; return -1; }
    }
    close(pidfd);
    kill(pid, SIGKILL);
    if (reap(pid, status, cpu_ms) != 0) return -1;
    return 1;
}

int csb_limit(int resource, uint64_t soft, uint64_t hard) {
    struct rlimit r = { (rlim_t)soft, (rlim_t)hard };
    return setrlimit(resource, &r);
}

int csb_rlimit_as(void) { return RLIMIT_AS; }
int csb_rlimit_cpu(void) { return RLIMIT_CPU; }
int csb_rlimit_fsize(void) { return RLIMIT_FSIZE; }
int csb_rlimit_nofile(void) { return RLIMIT_NOFILE; }
int csb_rlimit_core(void) { return RLIMIT_CORE; }
