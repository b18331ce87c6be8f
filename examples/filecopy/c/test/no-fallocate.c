/*
 * no-fallocate PROGRAM [ARG...]: runs PROGRAM in a process where fallocate(2) fails with
 * EOPNOTSUPP, as on a file system without it (ramfs, some FUSE and network file systems). A seccomp
 * filter makes the kernel answer that errno for the fallocate system call and lets every other call
 * through; PR_SET_NO_NEW_PRIVS lets a process without privileges install it. The filter stays in
 * force across execve, so PROGRAM (node, say) sees fallocate fail whatever file system it writes.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define THIS_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define THIS_ARCH AUDIT_ARCH_AARCH64
#else
#error "no-fallocate knows x86_64 and aarch64 only"
#endif

int main(int argc, char *argv[]) {
  if (argc < 2) {
    fprintf(stderr, "usage: no-fallocate PROGRAM [ARG...]\n");
    return 2;
  }
  struct sock_filter filter[] = {
    /* A call made under another architecture's numbering is refused outright. */
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_ARCH, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fallocate, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EOPNOTSUPP & SECCOMP_RET_DATA)),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program = { .len = sizeof filter / sizeof filter[0], .filter = filter };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
    fprintf(stderr, "no-fallocate: seccomp: %s\n", strerror(errno));
    return 2;
  }
  execvp(argv[1], argv + 1);
  fprintf(stderr, "no-fallocate: %s: %s\n", argv[1], strerror(errno));
  return 127;
}
