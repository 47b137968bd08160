#include "cnifti.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cnifti_close(znzFile file) { return Xznzclose(&file); }

void cnifti_free(void *p) { free(p); }

int cnifti_lib_version(char *buffer, int capacity) {
    // libnifti2 has no version function, only nifti_disp_lib_version, which prints a line on
    // stdout: that line, caught through a pipe (it is far shorter than a pipe holds).
    if (buffer == NULL || capacity <= 0) return -1;
    buffer[0] = 0;
    int fds[2];
    if (pipe(fds) != 0) return -1;
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    if (saved < 0) { close(fds[0]); close(fds[1]); return -1; }
    dup2(fds[1], STDOUT_FILENO);
    nifti_disp_lib_version();
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], buffer, (size_t)capacity - 1);
    close(fds[0]);
    if (n < 0) n = 0;
    buffer[n] = 0;
    char *newline = strchr(buffer, '\n');
    if (newline) *newline = 0;
    return 0;
}
